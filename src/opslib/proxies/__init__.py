"""The proxy pool: the scrapers' rotation library, its tests, imports, rotation and checks."""

from opslib.proxies._model import SCHEMES, Proxy, ProxyState, parse_proxy_url
from opslib.proxies._performance import ProxyStats, proxy_performance, proxy_stats
from opslib.proxies._pool import DomainPolicy, Lease, Outcome, PoolProxy, ProxyPool

__all__ = [
    "SCHEMES",
    "DomainPolicy",
    "Lease",
    "Outcome",
    "PoolProxy",
    "Proxy",
    "ProxyPool",
    "ProxyState",
    "ProxyStats",
    "parse_proxy_url",
    "proxy_performance",
    "proxy_stats",
]
