"""Which page of each site is fetched: a monitored URL of the domain (the platform's
``monitored_urls``, lowest id first), else ``https://DOMAIN/``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from psycopg import sql

from opslib.adapters import Database
from opslib.config import PlatformTables
from opslib.errors import InputError
from opslib.quality import PlatformSchema
from opslib.sites._model import SiteTarget

__all__ = ["monitored_urls", "parse_site", "site_targets"]

_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"^{_LABEL}(\.{_LABEL})*\.?$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def parse_site(text: str) -> SiteTarget:
    """A target from a domain (``shop.example`` -> ``https://shop.example/``) or an http(s)
    URL (its host is the domain). Raises :class:`InputError` for anything else."""
    raw = text.strip()
    if "://" in raw:
        try:
            parts = urlsplit(raw)
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError as exc:
            raise InputError(f"not a valid URL: {raw[:100]!r} ({exc})") from None
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("http", "https") or not host:
            raise InputError(f"not an http(s) URL: {raw[:100]!r}")
        if parts.username or parts.password:
            raise InputError("a site URL carries no credentials")
        domain = host.rstrip(".")
        if parts.port is not None and parts.port != _DEFAULT_PORTS[parts.scheme]:
            shown = f"[{domain}]" if ":" in domain else domain
            domain = f"{shown}:{parts.port}"  # two servers of one host stay two sites
        return SiteTarget(domain, raw)
    name = raw.lower()
    if len(name) > 253 or not _DOMAIN.match(name):
        raise InputError(f"not a domain name: {raw[:100]!r} (e.g. shop.example or a URL)")
    return SiteTarget(name.rstrip("."), f"https://{name.rstrip('.')}/")


def site_targets(
    db: Database | None, tables: PlatformTables, sites: Sequence[str] = ()
) -> list[SiteTarget]:
    """One target per domain: for ``sites`` given (domains or URLs) a monitored URL of that
    domain when the platform has one (a URL given is used as it is), else ``https://DOMAIN/``;
    without ``sites``, every domain of ``monitored_urls``. ``db`` may be None only when every
    site is given as a URL."""
    given = [(parse_site(site), "://" in site) for site in sites]
    wanted = [target.domain for target, is_url in given if not is_url]
    sampled: dict[str, str] = {}
    if db is not None and (wanted or not given):
        sampled = _sample_urls(db, tables, wanted if given else None)
    if not given:
        return [SiteTarget(domain, url) for domain, url in sorted(sampled.items())]
    seen: dict[str, SiteTarget] = {}
    for target, is_url in given:
        url = target.url if is_url else sampled.get(target.domain, target.url)
        seen.setdefault(target.domain, SiteTarget(target.domain, url))
    return list(seen.values())


def _sample_urls(db: Database, tables: PlatformTables, domains: list[str] | None) -> dict[str, str]:
    return {d: urls[0] for d, urls in monitored_urls(db, tables, domains, 1).items()}


def monitored_urls(
    db: Database, tables: PlatformTables, domains: Sequence[str] | None, per_domain: int
) -> dict[str, list[str]]:
    """Up to ``per_domain`` URLs of each domain of ``monitored_urls`` (of ``domains``, else of
    every one), lowest id first."""
    schema = PlatformSchema.read(db, tables)
    schema.require("monitored_urls", "id", "domain", "url")
    domain = schema.column("monitored_urls", "domain")
    where = sql.SQL("WHERE lower({}) = ANY(%(domains)s)").format(domain) if domains else sql.SQL("")
    query = sql.SQL(
        "SELECT domain, url FROM (SELECT lower({domain}) AS domain, {url} AS url,"
        " row_number() OVER (PARTITION BY lower({domain}) ORDER BY {id}) AS n"
        " FROM {table} {where}) ranked WHERE n <= %(per_domain)s ORDER BY domain, n"
    ).format(
        domain=domain,
        url=schema.column("monitored_urls", "url"),
        table=schema.table("monitored_urls"),
        id=schema.column("monitored_urls", "id"),
        where=where,
    )
    rows = db.fetch_all(query, {"domains": list(domains or []), "per_domain": per_domain})
    found: dict[str, list[str]] = {}
    for row in rows:
        if row["domain"] and row["url"]:
            found.setdefault(str(row["domain"]), []).append(str(row["url"]))
    return found
