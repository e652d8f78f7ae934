"""The lab's proxies in the shared pool, registered at ``lab up``."""

from __future__ import annotations

from opslib.adapters import Database
from opslib.lab._settings import LabSettings
from opslib.proxies import DomainPolicy, ProxyPool, parse_proxy_url

__all__ = ["LAB_BAN_MINUTES", "register_proxies"]

LAB_BAN_MINUTES = 2  # time-compressed, like the rest of the lab


def register_proxies(db: Database, settings: LabSettings) -> None:
    """Put every lab proxy in the pool and give each shop its ban policy.

    The shops answer 429 now and then as part of their normal error mix; only 403 is a ban.
    """
    pool = ProxyPool(db)
    pool.upsert(
        parse_proxy_url(label, country=country, source="lab", tags=("lab",))
        for label, country, _port in settings.proxies
    )
    for domain in settings.domain_names:
        if pool.policy(domain) == DomainPolicy(domain):
            pool.set_policy(DomainPolicy(domain, ban_statuses=(403,), ban_minutes=LAB_BAN_MINUTES))
