"""Site changes (``opslib sites changes``): has a shop changed its page layout?

A few monitored pages of each domain (``sites.change_pages``, lowest url ids first) are fetched
directly or through pool proxies; each page's structural fingerprint (:mod:`._fingerprint`) is
compared with the baseline stored for that URL in ``opslib.site_baselines``, and the
extraction engine (with the domain's active pattern when the pattern store has one) says
whether the price is still found and how sure it is. A domain changed
when the median skeleton distance of its pages reaches ``sites.layout_distance`` (prices,
text and ads change nothing: the skeleton leaves them out). The first look at a page records
its baseline; ``save_baseline`` replaces a domain's after a deliberate change.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from psycopg.types.json import Jsonb

from opslib.adapters import Database
from opslib.config import PlatformTables, Settings
from opslib.errors import ConfigError
from opslib.proxies import Proxy
from opslib.results import CheckResult, Measurement, Table
from opslib.sites._content import BODY_LIMIT
from opslib.sites._fingerprint import Fingerprint, fingerprint, skeleton_distance
from opslib.sites._probe import resolve_override
from opslib.sites._targets import monitored_urls, parse_site

__all__ = [
    "ChangeReport",
    "DomainChange",
    "PageChange",
    "change_targets",
    "detect_site_changes",
    "site_changes",
]

if TYPE_CHECKING:  # the extraction extra: imported when pages are read
    from opslib.extraction import Pattern

SOP = "emergency.data_quality"
_PAGE_LIMIT = 4 * BODY_LIMIT  # a product page's skeleton is in its first MB
_WORKERS = 16


@dataclass(frozen=True)
class PageChange:
    """One page now against its baseline; ``distance`` None when it could not be compared."""

    url: str
    via: str | None
    status: int | None
    distance: float | None
    price_found: bool | None
    confidence: float | None
    baseline_price_found: bool | None
    baseline_confidence: float | None
    error: str | None = None
    recorded: bool = False  # no baseline before: this look became it


@dataclass(frozen=True)
class DomainChange:
    """A domain's pages against their baselines and the verdict."""

    domain: str
    pages: tuple[PageChange, ...]
    limit: float

    @property
    def compared(self) -> tuple[PageChange, ...]:
        """Pages with a baseline and a page read now."""
        return tuple(p for p in self.pages if p.distance is not None and not p.recorded)

    @property
    def distance(self) -> float | None:
        """The median skeleton distance of the compared pages."""
        found = [p.distance for p in self.compared if p.distance is not None]
        return round(statistics.median(found), 4) if found else None

    @property
    def changed(self) -> bool:
        """The layout changed: the median distance reaches the limit."""
        return self.distance is not None and self.distance >= self.limit

    @property
    def recorded(self) -> bool:
        """Every page read was new: its baseline was recorded now."""
        read = [p for p in self.pages if p.distance is not None]
        return bool(read) and all(p.recorded for p in read)

    @property
    def price_found(self) -> tuple[int, int]:
        """Pages whose price the engine finds now, of the pages read."""
        read = [p for p in self.pages if p.price_found is not None]
        return sum(bool(p.price_found) for p in read), len(read)

    @property
    def price_lost(self) -> int:
        """Compared pages whose baseline had a price and that show none now."""
        return sum(bool(p.baseline_price_found and not p.price_found) for p in self.compared)

    @property
    def confidence(self) -> float | None:
        """The engine's mean confidence on the compared pages now."""
        return _mean([p.confidence for p in self.compared])

    @property
    def baseline_confidence(self) -> float | None:
        """The mean confidence on the same pages when the baseline was saved."""
        return _mean([p.baseline_confidence for p in self.compared])

    def describe(self) -> str:
        """One line: distance, the price, the confidence then and now, fetch failures."""
        found, read = self.price_found
        parts = []
        if self.recorded:
            parts.append("baseline recorded now")
        elif self.distance is not None:
            word = "layout changed" if self.changed else "layout unchanged"
            parts.append(f"{word}: skeleton distance {self.distance:.2f} (limit {self.limit:g})")
        if read:
            parts.append(f"price found on {found}/{read} pages")
        if self.price_lost:
            parts.append(f"lost on {self.price_lost} that had one")
        now, then = self.confidence, self.baseline_confidence
        if now is not None and then is not None:
            parts.append(f"confidence {now:.2f} (baseline {then:.2f})")
        errors = [p.error for p in self.pages if p.error]
        if errors:
            parts.append(f"{len(errors)} page(s) not read: {errors[0]}")
        return "; ".join(parts) or "no page read"


@dataclass(frozen=True)
class ChangeReport:
    """One run: every domain's verdict, the proxies used, how long it took."""

    domains: tuple[DomainChange, ...]
    proxies: tuple[str, ...]
    elapsed_s: float
    saved: int  # baselines written (recorded or replaced)

    @property
    def changed(self) -> tuple[str, ...]:
        """The domains whose layout changed."""
        return tuple(d.domain for d in self.domains if d.changed)

    def of(self, domain: str) -> DomainChange:
        """The verdict of ``domain``."""
        return next(d for d in self.domains if d.domain == domain)


def _mean(values: Sequence[float | None]) -> float | None:
    found = [v for v in values if v is not None]
    return round(sum(found) / len(found), 3) if found else None


def change_targets(
    db: Database | None, tables: PlatformTables, domains: Sequence[str] = (), pages: int = 3
) -> dict[str, list[str]]:
    """Up to ``pages`` monitored URLs per domain (lowest id first): of ``domains`` (a domain
    without monitored URLs, or any without a database, is read at ``https://DOMAIN/``; a URL
    given is read as it is), or of every monitored domain."""
    given = [parse_site(d) for d in domains]
    found: dict[str, list[str]] = {}
    wanted = [t.domain for t, raw in zip(given, domains, strict=True) if "://" not in raw]
    if db is not None and (wanted or not given):
        found = monitored_urls(db, tables, wanted if given else None, pages)
    if not given:
        return found
    targets: dict[str, list[str]] = {}
    for target, raw in zip(given, domains, strict=True):
        urls = [target.url] if "://" in raw else found.get(target.domain, [target.url])
        targets.setdefault(target.domain, [])
        targets[target.domain] += [u for u in urls if u not in targets[target.domain]]
    return targets


@dataclass(frozen=True)
class _Look:
    url: str
    domain: str
    via: str | None
    status: int | None
    print: Fingerprint | None
    price_found: bool | None
    confidence: float | None
    method: str | None
    error: str | None


class _Fetcher:
    """Sync HTTP clients: one direct (``sites.resolve`` honoured), one per proxy."""

    def __init__(self, settings: Settings, proxies: Sequence[Proxy]) -> None:
        self.settings = settings.sites
        timeout = settings.sites.timeout or settings.timeouts.http
        headers = {"User-Agent": settings.sites.user_agent, "Accept": "text/html,*/*"}
        verify: Any = str(settings.sites.ca_file) if settings.sites.ca_file else True

        def client(proxy: Proxy | None) -> httpx.Client:
            return httpx.Client(
                proxy=proxy.connect_url() if proxy else None, timeout=timeout, headers=headers,
                verify=verify, trust_env=False, follow_redirects=True,
            )  # fmt: skip

        self.direct = client(None)
        self.via = {p.url: client(p) for p in proxies}

    def close(self) -> None:
        for c in (self.direct, *self.via.values()):
            c.close()

    def get(self, url: str, via: str | None) -> tuple[int, bytes]:
        parts = urlsplit(url)
        headers: dict[str, str] = {}
        extensions: dict[str, Any] = {}
        target = url
        address = None if via else resolve_override(parts.hostname or "", self.settings.resolve)
        if address is not None:
            host = f"[{address}]" if ":" in address else address
            port = parts.port or (443 if parts.scheme == "https" else 80)
            headers["Host"] = parts.netloc.rpartition("@")[2]
            extensions["sni_hostname"] = parts.hostname
            netloc = f"{host}:{port}"
            target = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        client = self.via[via] if via else self.direct
        with client.stream("GET", target, headers=headers, extensions=extensions) as response:
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) >= _PAGE_LIMIT:
                    break
            return response.status_code, bytes(body)


def _active_patterns(db: Database, domains: Sequence[str]) -> dict[str, Pattern]:
    """Each domain's active pattern (``opslib patterns deploy``), read before the threads: an
    unreadable store leaves the engine to structured data and the model."""
    from opslib.extraction import PatternStore

    store = PatternStore(db)
    found = {d: p for d in domains if (p := store.active(d)) is not None}
    return {} if store.unreachable else found


def _look(
    fetcher: _Fetcher, domain: str, url: str, via: str | None, pattern: Pattern | None
) -> _Look:
    from opslib.extraction import extract

    try:
        status, body = fetcher.get(url, via)
    except httpx.HTTPError as exc:
        reason = f"{type(exc).__name__}: {exc}"[:200]
        return _Look(url, domain, via, None, None, None, None, None, reason)
    if status != 200:
        return _Look(url, domain, via, status, None, None, None, None, f"HTTP {status}")
    found = extract(body, domain, url=url, pattern=pattern)
    return _Look(
        url, domain, via, status, fingerprint(body), found.found,
        round(found.confidence, 3), found.method, None,
    )  # fmt: skip


@dataclass(frozen=True)
class _Baseline:
    print: Fingerprint
    price_found: bool
    confidence: float | None


def _baselines(db: Database, urls: Sequence[str]) -> dict[str, _Baseline]:
    rows = db.fetch_all(
        "SELECT url, fingerprint, price_found, confidence FROM opslib.site_baselines"
        " WHERE url = ANY(%s)",
        (list(urls),),
    )
    return {
        str(r["url"]): _Baseline(
            Fingerprint.from_json(r["fingerprint"]), bool(r["price_found"]), r["confidence"]
        )
        for r in rows
    }


def _save(db: Database, looks: Sequence[_Look], actor: str) -> int:
    rows = [
        {
            "url": look.url,
            "domain": look.domain,
            "fingerprint": Jsonb(look.print.as_json()),
            "price_found": bool(look.price_found),
            "confidence": look.confidence,
            "method": look.method,
            "actor": actor,
        }
        for look in looks
        if look.print is not None
    ]
    if rows:
        db.execute_many(
            "INSERT INTO opslib.site_baselines (url, domain, fingerprint, price_found,"
            " confidence, method, saved_by) VALUES (%(url)s, %(domain)s, %(fingerprint)s,"
            " %(price_found)s, %(confidence)s, %(method)s, %(actor)s) ON CONFLICT (url) DO UPDATE"
            " SET domain = EXCLUDED.domain, fingerprint = EXCLUDED.fingerprint,"
            " price_found = EXCLUDED.price_found, confidence = EXCLUDED.confidence,"
            " method = EXCLUDED.method, saved_at = now(), saved_by = EXCLUDED.saved_by",
            rows,
        )
    return len(rows)


def _compare(look: _Look, baseline: _Baseline | None) -> PageChange:
    if look.print is None:
        return PageChange(look.url, look.via, look.status, None, None, None,
                          baseline.price_found if baseline else None,
                          baseline.confidence if baseline else None, look.error)  # fmt: skip
    if baseline is None:
        return PageChange(look.url, look.via, look.status, 0.0, look.price_found,
                          look.confidence, None, None, None, recorded=True)  # fmt: skip
    return PageChange(
        look.url, look.via, look.status, skeleton_distance(baseline.print, look.print),
        look.price_found, look.confidence, baseline.price_found, baseline.confidence,
    )  # fmt: skip


def _limit(settings: Settings, domain: str) -> float:
    limit = settings.threshold("sites.layout_distance", domain).crit
    if limit is None:
        raise ConfigError("thresholds: sites.layout_distance needs a crit value")
    return limit


def detect_site_changes(
    db: Database,
    settings: Settings,
    domains: Sequence[str] = (),
    *,
    proxies: Sequence[Proxy] = (),
    save_baseline: bool = False,
    dry_run: bool = False,
    actor: str = "opslib",
) -> ChangeReport:
    """Fetch each domain's pages (through ``proxies`` in turn, else directly), compare them
    with their baselines and record the baselines of pages seen for the first time. With
    ``save_baseline`` every page read becomes its baseline; ``dry_run`` writes nothing."""
    began = time.perf_counter()
    targets = change_targets(db, settings.tables, domains, settings.sites.change_pages)
    jobs = [(d, u) for d, urls in targets.items() for u in urls]
    routes: list[str | None] = [p.url for p in proxies] or [None]
    patterns = _active_patterns(db, list(targets))
    fetcher = _Fetcher(settings, proxies)
    try:
        with ThreadPoolExecutor(max_workers=max(1, min(_WORKERS, len(jobs)))) as pool:
            looks = list(
                pool.map(
                    lambda job: _look(
                        fetcher, job[0], job[1], routes[job[2] % len(routes)], patterns.get(job[0])
                    ),
                    [(d, u, i) for i, (d, u) in enumerate(jobs)],
                )
            )
    finally:
        fetcher.close()
    baselines = {} if save_baseline else _baselines(db, [look.url for look in looks])
    pages = [_compare(look, baselines.get(look.url)) for look in looks]
    saved = 0
    if not dry_run:
        fresh = [look for look, page in zip(looks, pages, strict=True) if page.recorded]
        saved = _save(db, fresh, actor)
    by_domain: dict[str, list[PageChange]] = {d: [] for d in targets}
    for look, page in zip(looks, pages, strict=True):
        by_domain[look.domain].append(page)
    return ChangeReport(
        tuple(DomainChange(d, tuple(p), _limit(settings, d)) for d, p in by_domain.items()),
        tuple(p.url for p in proxies),
        round(time.perf_counter() - began, 2),
        saved,
    )


def site_changes(
    db: Database, settings: Settings, report: ChangeReport | None = None
) -> CheckResult:
    """The check: every monitored domain's layout against its baseline (CRITICAL when it
    changed, naming ``opslib patterns generate DOMAIN``); the price no longer found on pages
    that had one is a WARNING. Pages seen for the first time become the baseline."""
    title = "site changes (page skeleton against the baseline)"
    if report is None:
        try:
            report = detect_site_changes(db, settings, actor="opslib check emergency.data_quality")
        except ConfigError as exc:  # a missing table or column, the extraction extra absent
            return CheckResult.unknown(SOP, title, str(exc))
    if not report.domains:
        return CheckResult.unknown(SOP, title, "no monitored domain to look at")
    measurements: list[Measurement] = []
    for d in report.domains:
        value = 0.0 if d.recorded else d.distance
        limit = settings.threshold("sites.layout_distance", d.domain)
        measurements.append(Measurement("layout_distance", value, limit, d.domain, d.describe()))
        if d.compared and not d.changed:
            share = d.price_lost / len(d.compared)
            lost = settings.threshold("sites.price_lost", d.domain)
            measurements.append(Measurement("price_lost", share, lost, d.domain, d.describe()))
    changed = report.changed
    remedies = [f"opslib patterns generate {d}" for d in changed]
    lost_at = [d.domain for d in report.domains if not d.changed and d.compared and d.price_lost]
    remedies += [f"opslib sites changes {d} (price no longer found)" for d in lost_at]
    if changed:
        remedies.append(
            "then opslib patterns test and deploy; once confidence recovers: opslib sites"
            f" changes {' '.join(changed)} --save-baseline"
        )
    rows = tuple(
        (d.domain, "changed" if d.changed else "new" if d.recorded else "same",
         "-" if d.distance is None else f"{d.distance:.2f}",
         "{}/{}".format(*d.price_found), "-" if d.confidence is None else f"{d.confidence:.2f}")
        for d in report.domains
    )  # fmt: skip
    table = Table(("domain", "layout", "distance", "price found", "confidence"), rows, "sites")
    return CheckResult(SOP, title, tuple(measurements), "; ".join(remedies), tables=(table,))
