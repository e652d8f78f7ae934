"""Verify the extractors: each domain's active pattern (else the engine alone) against the
domain's stored reference pages; and sample pages with known prices from recent history.

``verify`` gives the accuracy per domain and the pages it got wrong; ``extractor_accuracy`` is
the check (sop ``emergency.data_quality``) judging it against ``patterns.accuracy``.
``history_samples`` fetches the pages of a domain's recent high-confidence price checks now,
with the price recorded (directly or through pool proxies), for ``opslib patterns generate``,
``test``, ``reference collect`` and ``models collect``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from psycopg import sql

from opslib.adapters import Database
from opslib.config import Settings
from opslib.extraction._generate import PageCheck, PatternTest, Sample, try_pattern
from opslib.extraction._store import PatternStore, normalise_domain
from opslib.extraction._types import Pattern
from opslib.results import CheckResult, Measurement, Table

if TYPE_CHECKING:
    from opslib.proxies import Proxy

__all__ = ["DomainVerification", "extractor_accuracy", "history_samples", "verify"]

SOP = "emergency.data_quality"
THRESHOLD = "patterns.accuracy"


@dataclass(frozen=True)
class DomainVerification:
    """A domain's extractor on its reference pages."""

    domain: str
    version: int | None  # the active pattern's version; None: no pattern, the engine alone
    pattern: Pattern | None
    test: PatternTest

    @property
    def extractor(self) -> str:
        return f"pattern v{self.version}" if self.version is not None else "engine (no pattern)"


def _engine_test(pages: Sequence[Sample], domain: str) -> PatternTest:
    from opslib.extraction._engine import extract

    checks = []
    for s in pages:
        got = extract(s.html, domain)
        checks.append(PageCheck(s.name, s.price, got.price, got.reason))
    return PatternTest(tuple(checks))


def verify(db: Database, domains: Sequence[str] | None = None) -> list[DomainVerification]:
    """Every domain with reference pages (or only ``domains``), its extractor run on them."""
    store = PatternStore(db, cache_seconds=0)
    counts = store.reference_counts()
    active = {v.domain: v for v in store.versions() if v.active}
    names = (
        sorted({normalise_domain(d) for d in domains})
        if domains
        else sorted(set(counts) | set(active))
    )
    out = []
    for domain in names:
        pages = [Sample(r.name, r.html, r.price, r.currency) for r in store.references(domain)]
        current = active.get(domain)
        if current is not None:
            test = try_pattern(current.pattern, pages, domain)
            out.append(DomainVerification(domain, current.version, current.pattern, test))
        else:
            out.append(DomainVerification(domain, None, None, _engine_test(pages, domain)))
    return out


def _remedy(bad: Sequence[DomainVerification]) -> str:
    steps = []
    for v in bad:
        d = v.domain
        step = (
            f"{d}: `opslib patterns generate {d} --deploy` (a new pattern from recent pages with"
            " known prices, tested on held-out pages)"
        )
        if v.version is not None and v.version > 1:
            step += f", or `opslib patterns rollback {d}` if version {v.version} broke it"
        steps.append(step)
    return (
        "; ".join(steps)
        + ". Then `opslib patterns verify`; `opslib sites changes` tells whether the site changed"
    )


def extractor_accuracy(db: Database, settings: Settings) -> CheckResult:
    """Each domain's extractor accuracy on its reference pages against ``patterns.accuracy``."""
    title = "extractor accuracy on the reference pages"
    found = verify(db)
    judged = [v for v in found if v.test.pages]
    if not judged:
        return CheckResult.unknown(
            SOP,
            title,
            "no reference pages stored: `opslib patterns reference collect DOMAIN` or"
            " `opslib patterns reference add DOMAIN PAGE --price P`",
        )
    measurements = []
    for v in judged:
        failed = v.test.failures
        note = f"{v.extractor}, {v.test.right}/{len(v.test.pages)} pages right"
        if failed:
            note += "; wrong: " + ", ".join(
                f"{p.name} (expected {p.expected}, got {p.got})" for p in failed[:3]
            )
        measurements.append(
            Measurement(
                "extractor_accuracy",
                round(v.test.accuracy or 0.0, 4),
                settings.threshold(THRESHOLD, v.domain),
                v.domain,
                note,
            )
        )
    result = CheckResult(SOP, title, tuple(measurements), "", tables=(_table(found),))
    bad = [v for v, m in zip(judged, measurements, strict=True) if m in result.problems]
    return CheckResult(
        SOP, title, tuple(measurements), _remedy(bad) if bad else "", tables=result.tables
    )


def _table(found: Sequence[DomainVerification]) -> Table:
    return Table(
        ("domain", "extractor", "selector", "pages", "right", "accuracy"),
        tuple(
            (
                v.domain,
                v.extractor,
                v.pattern.selector if v.pattern else "",
                str(len(v.test.pages)),
                str(v.test.right),
                "n/a" if v.test.accuracy is None else f"{v.test.accuracy:.3f}",
            )
            for v in found
        ),
        "extractors by domain",
    )


def history_samples(
    db: Database,
    settings: Settings,
    domain: str,
    *,
    hours: float = 24.0,
    min_confidence: float = 0.9,
    limit: int = 30,
    timeout: float = 10.0,
    proxies: Sequence[Proxy] = (),
) -> tuple[list[Sample], list[str]]:
    """The pages of ``domain``'s URLs fetched now (directly, ``sites.resolve`` honoured, or
    through ``proxies`` in turn, as the scrapers see them), each with its latest price of
    confidence ``min_confidence`` or more in the last ``hours``; and why other URLs gave no
    sample (a proxy named by its label, never its credentials)."""
    import httpx

    from opslib.sites import resolve_override

    t = settings.tables
    urls, hist = t.monitored_urls, t.price_history
    query = sql.SQL(
        "SELECT DISTINCT ON (u.{uid}) u.{url} AS url, h.{price} AS price"
        " FROM {urls} u JOIN {hist} h ON h.{hurl} = u.{uid}"
        " WHERE u.{dom} = %(d)s AND h.{at} > now() - make_interval(secs => %(s)s)"
        " AND h.{conf} >= %(c)s AND h.{price} IS NOT NULL"
        " ORDER BY u.{uid}, h.{at} DESC LIMIT %(n)s"
    ).format(
        uid=sql.Identifier(urls.id),
        url=sql.Identifier(urls.url),
        price=sql.Identifier(hist.price),
        urls=sql.Identifier(*urls.name.split(".")),
        hist=sql.Identifier(*hist.name.split(".")),
        hurl=sql.Identifier(hist.url_id),
        dom=sql.Identifier(urls.domain),
        at=sql.Identifier(hist.checked_at),
        conf=sql.Identifier(hist.extraction_confidence),
    )
    rows = db.fetch_all(
        query,
        {
            "d": normalise_domain(domain),
            "s": hours * 3600,
            "c": min_confidence,
            "n": limit,
        },
    )
    samples: list[Sample] = []
    problems: list[str] = []
    headers = {"User-Agent": settings.sites.user_agent}

    def client(proxy: Proxy | None) -> httpx.Client:
        return httpx.Client(
            proxy=proxy.connect_url() if proxy else None, timeout=timeout,
            follow_redirects=True, headers=headers, trust_env=proxy is None,
        )  # fmt: skip

    resolve = settings.sites.resolve
    routes: list[Proxy | None] = list(proxies) or [None]
    clients = [client(route) for route in routes]
    try:
        for i, row in enumerate(rows):
            url = str(row["url"])
            route = routes[i % len(routes)]
            target, extra = url, {}
            parts = urlsplit(url)
            # a proxy resolves the host itself; sites.resolve is for direct requests
            address = None if route else resolve_override(parts.hostname or "", resolve)
            if address:
                netloc = f"{address}:{parts.port}" if parts.port else address
                target = parts._replace(netloc=netloc).geturl()
                extra = {"Host": parts.netloc}
            via = f" via {route.url}" if route else ""
            try:
                reply = clients[i % len(routes)].get(target, headers=extra)
            except httpx.HTTPError as exc:
                problems.append(f"{url}{via}: {type(exc).__name__}")
                continue
            if reply.status_code != 200:
                problems.append(f"{url}{via}: HTTP {reply.status_code}")
                continue
            samples.append(Sample(url, reply.content, Decimal(str(row["price"])), None))
    finally:
        for c in clients:
            c.close()
    return samples, problems
