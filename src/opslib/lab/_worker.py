"""A scraper worker of the lab: claims due URLs, fetches them through proxies leased from the
shared :class:`~opslib.proxies.ProxyPool` (and reports each outcome back to it), extracts the
price, writes ``price_history`` and ``scrape_logs`` and serves ``/metrics``. It honours
maintenance mode (:class:`~opslib.maintenance.MaintenanceMode`): while a window covers
everything, its service (``scraper_service``) or a URL's domain, it claims no new work there;
what it already claimed finishes. Every request takes a permit of the domain's shared rate
limit (:class:`~opslib.ratelimit.RateLimiter`; a 429's Retry-After holds the domain for every
replica), domains cooling down or paused (:class:`~opslib.domains.DomainControls`) are left
alone, and each domain's strategy decides headers, delay and jitter, proxy country and
stickiness, retries and backoff. With ``domain_controls.auto_cooldown`` a worker runs
auto-cooldown every ``auto_every_seconds`` (off by default, so in the lab: a fault a test injects
must not leave a domain cooling down for the tests after it).
Failures are logged to stderr as one line each, as a scraper would log them::

    2026-12-02 10:41:03,512 ERROR scraper: GET https://shop.test/p/123 failed: HTTP 429 Too
    Many Requests (retry after 5s) via proxy 127.0.0.1:30012

Run as ``python -m opslib.lab._worker --state-dir DIR --index N`` (a container's command, or a
local process). The database DSN comes from the lab's ``opslib.toml``, nothing from argv.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from opslib.adapters import Database
from opslib.audit import AuditLog
from opslib.config import Settings, load_settings
from opslib.connect import open_database
from opslib.domains import AUTO_ACTOR, DomainControls, Strategy
from opslib.errors import NoProxyAvailable, OpsError
from opslib.extraction import PatternStore
from opslib.lab._catalog import HEADROOM
from opslib.lab._control import ControlFile
from opslib.lab._extract import extract_price
from opslib.lab._paths import LabPaths, load_recorded
from opslib.lab._settings import INDEX_ENV, LabSettings
from opslib.maintenance import MaintenanceMode
from opslib.proxies import Lease, Outcome, ProxyPool
from opslib.quality import PlatformSchema
from opslib.ratelimit import RateLimiter, RateLimitTimeout
from opslib.sites import retry_after_seconds

__all__ = ["BUCKETS", "ERROR_KINDS", "HeldPage", "Worker", "main"]

_log = logging.getLogger("scraper")

ERROR_KINDS = ("http_error", "rate_limited", "timeout", "proxy_error", "banned")
_THREADS = 6
_PERMIT_TIMEOUT = 1.0  # seconds a fetch thread waits for a rate-limit permit, then moves on
_TIMEOUT = httpx.Timeout(5.0, connect=2.0)
BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

_CLAIM = """
UPDATE monitored_urls m SET next_check_at = now() + m.check_interval
FROM (SELECT id FROM monitored_urls
      WHERE active AND next_check_at <= now() AND domain <> ALL(%(paused)s::text[])
      ORDER BY next_check_at LIMIT 1 FOR UPDATE SKIP LOCKED) due
WHERE m.id = due.id
RETURNING m.id, m.domain, m.url, m.currency
"""
_WRITE = """
WITH log AS (
    INSERT INTO scrape_logs (url_id, domain, started_at, duration_ms, status_code, proxy,
                             proxy_country, worker, outcome, error, bytes)
    VALUES (%(url_id)s, %(domain)s, %(started_at)s, %(duration_ms)s, %(status)s, %(proxy)s,
            %(country)s, %(worker)s, %(outcome)s, %(error)s, %(bytes)s)
), price AS (
    INSERT INTO price_history (url_id, price, currency, extraction_confidence,
                               extraction_method, checked_at)
    SELECT %(url_id)s, %(price)s, %(currency)s, %(confidence)s, %(method)s, now()
    WHERE %(fetched)s
)
UPDATE monitored_urls SET last_checked_at = now() WHERE id = %(url_id)s AND %(fetched)s
"""
_QUEUE = "SELECT count(*) AS n FROM monitored_urls WHERE active AND next_check_at <= now()"


class _Metrics:
    def __init__(self, domains: list[str]) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        r = self.registry
        self.requests = Counter("scraper_requests", "Fetch attempts", ["domain"], registry=r)
        self.errors = Counter(
            "scraper_errors", "Failed fetch attempts", ["domain", "kind"], registry=r
        )
        self.processed = Counter("scraper_processed", "URLs processed", registry=r)
        self.queue = Gauge("queue_size", "URLs due for a check now", registry=r)
        self.duration = Histogram(
            "scraper_request_duration_seconds", "Fetch time", buckets=BUCKETS, registry=r
        )
        self.proxy_requests = Counter(
            "scraper_proxy_requests",
            "Fetch attempts by proxy",
            ["proxy", "country", "outcome"],
            registry=r,
        )
        self.extractions = Counter(
            "scraper_extractions", "Extractions by rule", ["method"], registry=r
        )
        self.cache_hits = Counter(  # caching: a 304 to a conditional request, not extracted
            "scraper_cache_hits", "Pages not modified since the last fetch", ["domain"], registry=r
        )
        for domain in domains:  # every series exists from the start, so rate() sees the first one
            self.requests.labels(domain)
            for kind in ERROR_KINDS:
                self.errors.labels(domain, kind)


class _Pacer:
    """Spaces fetches evenly at ``rate()`` per second, shared by the worker's threads.

    Nothing is reserved ahead: a thread takes the next slot only when it is due, judged by the
    rate in force now, so a change of speed applies at once.
    """

    def __init__(self, rate: Callable[[], float]) -> None:
        self._rate = rate
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def wait(self, stop: threading.Event) -> bool:
        """Block until a slot is free; False once ``stop`` is set."""
        while not stop.is_set():
            with self._lock:
                now = time.monotonic()
                due = self._last + 1 / max(self._rate(), 0.01)
                if now >= due:
                    self._last = due if now - due < 0.5 else now
                    return True
            stop.wait(min(due - now, 0.05))
        return False


@dataclass(frozen=True)
class HeldPage:
    """A page the worker keeps for caching: its validators, the extraction made of it and the
    domain's pattern it was read with (None: the engine alone)."""

    etag: str
    last_modified: str
    extraction: Any
    pattern: Any = None

    def conditions(self, pattern: Any = None) -> dict[str, str]:
        """The conditional request's headers: both validators the shop gave (a shop honours
        If-None-Match first, RFC 9110; one that sent only Last-Modified gets the date). None at
        all when the domain's active ``pattern`` is not the one the page was read with: a
        pattern deployed or rolled back since must read the page, a 304 keeps the old answer."""
        if pattern != self.pattern:
            return {}
        found = {"If-None-Match": self.etag, "If-Modified-Since": self.last_modified}
        return {name: value for name, value in found.items() if value}


@dataclass(frozen=True)
class _Attempt:
    outcome: str
    status: int | None
    duration_ms: int
    body: bytes
    error: str | None
    report: Outcome
    retry_after: float | None = None  # a 429's Retry-After, seconds
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    proxy: str = ""
    country: str = ""
    etag: str = ""  # the page's ETag (caching: sent back as If-None-Match)
    last_modified: str = ""  # its Last-Modified (caching: sent back as If-Modified-Since)

    def reason(self) -> str:
        """Why it failed, as the log line says it: ``HTTP 429 Too Many Requests (retry after
        5s)``, ``ConnectTimeout``, ``ProxyError: ...``."""
        if self.status is None or self.outcome == "proxy_error":
            return self.error or self.outcome
        try:
            phrase = f" {HTTPStatus(self.status).phrase}"
        except ValueError:
            phrase = ""
        text = f"HTTP {self.status}{phrase}"
        if self.retry_after is not None:
            text += f" (retry after {self.retry_after:g}s)"
        elif self.outcome == "banned":
            text += " (banned)" if self.status != 200 else ": a block page (banned)"
        return text


def _address(proxy_url: str) -> str:
    return proxy_url.split("://", 1)[-1]


class Worker:
    """One scraper worker; ``run`` blocks until ``stop`` is set."""

    def __init__(
        self,
        settings: LabSettings,
        index: int,
        ops: Settings,
        control: ControlFile,
    ) -> None:
        self.settings = settings
        self._ops = ops
        self._proxy_settings = ops.proxies
        self.index = index
        self.name = settings.worker_name(index)
        self._control = control
        self.metrics = _Metrics(settings.domain_names)
        share = HEADROOM * settings.scrape_rate / settings.workers
        self._pacer = _Pacer(lambda: share * self._control.read().workers.speed)
        self._clients: dict[str, httpx.Client] = {}
        self._clients_lock = threading.Lock()
        self._maintenance = MaintenanceMode(
            open_database(ops, statement_timeout=2, application_name=f"{self.name}-maintenance"),
            ops.maintenance,
        )
        self._paused: bool | None = None
        self._paused_lock = threading.Lock()
        self._limiter = RateLimiter(
            open_database(ops, statement_timeout=2, application_name=f"{self.name}-ratelimit"),
            ops.ratelimit,
        )
        self._controls = DomainControls(
            open_database(ops, statement_timeout=2, application_name=f"{self.name}-controls"),
            ops.domain_controls,
        )
        # the domains' deployed extraction patterns (opslib patterns deploy), read every 5 s
        self._patterns = PatternStore(
            open_database(ops, statement_timeout=2, application_name=f"{self.name}-patterns"),
            cache_seconds=5.0,
        )
        self._requests = itertools.count()
        self._pages: dict[int, HeldPage] = {}  # url id -> its validators and extraction
        self._rng = random.Random()  # noqa: S311 - delays and jitter, not secrets

    def run(self, stop: threading.Event) -> None:
        port = self.settings.metrics_port(self.index)
        server, _thread = start_http_server(port, addr="127.0.0.1", registry=self.metrics.registry)
        _log.info("%s: metrics on 127.0.0.1:%d", self.name, port)
        threads = [threading.Thread(target=self._queue_loop, args=(stop,), daemon=True)]
        if self._ops.domain_controls.auto_cooldown:
            threads.append(
                threading.Thread(target=self._auto_cooldown_loop, args=(stop,), daemon=True)
            )
        threads += [
            threading.Thread(target=self._fetch_loop, args=(stop,), daemon=True)
            for _ in range(_THREADS)
        ]
        for thread in threads:
            thread.start()
        last = time.monotonic()
        while not stop.wait(1.0):
            if time.monotonic() - last >= 60:
                last = time.monotonic()
                registry = self.metrics.registry
                _log.info(
                    "%s: processed %s, queue %s",
                    self.name,
                    registry.get_sample_value("scraper_processed_total"),
                    registry.get_sample_value("queue_size"),
                )
        for thread in threads:
            thread.join(timeout=6)
        server.shutdown()
        for client in self._clients.values():
            client.close()
        self._maintenance.database.close()
        self._limiter.database.close()
        self._controls.database.close()

    def _client(self, lease: Lease) -> httpx.Client:
        with self._clients_lock:
            client = self._clients.get(lease.url)
            if client is None:
                client = self._clients[lease.url] = httpx.Client(
                    proxy=lease.connect_url(),
                    timeout=_TIMEOUT,
                    trust_env=False,
                    headers={"User-Agent": "pricewatch-scraper/1.0"},
                )
            return client

    def _database(self) -> Database:
        return open_database(self._ops, statement_timeout=5, application_name=self.name)

    def _queue_loop(self, stop: threading.Event) -> None:
        with self._database() as db:
            while not stop.wait(1.0):
                try:
                    row = db.fetch_one(_QUEUE)
                except OpsError as exc:
                    _log.warning("%s: queue size unknown: %s", self.name, exc)
                    continue
                self.metrics.queue.set(row["n"] if row else 0)

    def _auto_cooldown_loop(self, stop: threading.Event) -> None:
        """Auto-cooldown every ``domain_controls.auto_every_seconds`` (one worker at a time does
        it: the others find the lock taken and skip)."""
        settings = self._ops.domain_controls
        with self._database() as db:
            controls = DomainControls(db, settings)
            audit = AuditLog(db, AUTO_ACTOR)
            schema: PlatformSchema | None = None
            first = self._rng.uniform(0.5, 1.0) * settings.auto_every_seconds
            for pause in itertools.chain([first], itertools.repeat(settings.auto_every_seconds)):
                if stop.wait(pause):
                    return
                try:
                    schema = schema or PlatformSchema.read(db, self._ops.tables)
                    controls.auto_cooldown(schema, audit)
                except OpsError as exc:
                    _log.warning("%s: auto-cooldown skipped: %s", self.name, exc)

    def _fetch_loop(self, stop: threading.Event) -> None:
        with self._database() as db:
            while self._pacer.wait(stop):
                if self._in_maintenance():
                    stop.wait(0.2)
                    continue
                try:
                    paused = (
                        self._maintenance.paused_domains()
                        | self._controls.blocked_domains()
                        | self._limiter.held_domains()
                    )
                    claimed = db.fetch_one(_CLAIM, {"paused": sorted(paused)})
                except OpsError as exc:
                    _log.warning("%s: cannot claim work: %s", self.name, exc)
                    stop.wait(1.0)
                    continue
                if claimed is None:
                    stop.wait(0.2)
                    continue
                try:
                    self._process(db, ProxyPool(db, self._proxy_settings), claimed, stop)
                except OpsError as exc:
                    _log.error("%s: cannot write results of %s: %s", self.name, claimed["url"], exc)

    def _in_maintenance(self) -> bool:
        """Whether a window covers this scraper (everything or its service); logs changes."""
        paused = self._maintenance.is_active(service=self._ops.scraper_service)
        with self._paused_lock:
            if paused != self._paused:
                if paused:
                    _log.info("%s: maintenance mode on: no new work claimed", self.name)
                elif self._paused is not None:
                    _log.info("%s: maintenance mode off: claiming work again", self.name)
                self._paused = paused
        return paused

    def _process(
        self, db: Database, pool: ProxyPool, url: dict[str, Any], stop: threading.Event
    ) -> None:
        domain = url["domain"]
        if not self._controls.is_allowed(domain):
            return  # cooled down or paused since it was claimed: its next check comes later
        strategy = self._controls.strategy(domain)
        for attempt in range(1, strategy.retries + 2):
            wait = strategy.delay(self._rng) + (strategy.backoff(attempt - 1) if attempt > 1 else 0)
            if wait > 0 and stop.wait(wait):
                break
            result = self._attempt(pool, url, strategy)
            if result is None:
                break
            fetched = result.outcome == "ok"
            extraction = self._extraction(url, result) if fetched else None
            if fetched and extraction is None:
                _log.error("price not found on %s", url["url"])
            elif extraction is not None:
                self.metrics.extractions.labels(extraction.method).inc()
            if not self._control.read().workers.writes_paused:
                db.execute(_WRITE, self._row(url, result, extraction))
            if fetched or result.retry_after is not None:
                break  # after a 429 the domain is held for every replica: no retry now
        self.metrics.processed.inc()

    def _extraction(self, url: dict[str, Any], result: _Attempt) -> Any:
        """The page's price: a 304 (caching) reuses the last extraction, unextracted."""
        held = self._pages.get(url["id"])
        if result.status == 304 and held is not None:
            self.metrics.cache_hits.labels(url["domain"]).inc()
            return held.extraction
        domain = url["domain"]
        pattern = self._patterns.active(domain)
        patterns = {domain: pattern} if pattern is not None else None
        extraction = extract_price(result.body, url["currency"], domain, patterns)
        if (result.etag or result.last_modified) and extraction is not None:
            self._pages[url["id"]] = HeldPage(
                result.etag, result.last_modified, extraction, pattern
            )
        return extraction

    def _attempt(self, pool: ProxyPool, url: dict[str, Any], strategy: Strategy) -> _Attempt | None:
        """One request under a rate-limit permit; None when none was made (no permit, no
        proxy)."""
        domain = url["domain"]
        try:
            permit = self._limiter.acquire(domain, timeout=_PERMIT_TIMEOUT)
        except RateLimitTimeout as exc:
            _log.warning("%s: %s", self.name, exc)
            return None
        except OpsError as exc:  # a limit that cannot be read is not skipped
            _log.error("%s: rate limit of %s cannot be read, not requesting: %s", self.name,
                       domain, exc)  # fmt: skip
            return None
        with permit:
            try:
                lease = pool.acquire(
                    domain,
                    country=strategy.proxy_country,
                    session=self.name if strategy.sticky_proxy else None,
                )
            except NoProxyAvailable as exc:
                _log.error("GET %s failed: %s", url["url"], exc)
                # an attempt that found no proxy still counts, so errors never exceed requests;
                # a domain that banned the whole pool is blocking us, not our proxies failing
                self.metrics.requests.labels(domain).inc()
                self.metrics.errors.labels(domain, "banned" if exc.banned else "proxy_error").inc()
                return None
            headers = strategy.request_headers(next(self._requests))
            held = self._pages.get(url["id"])
            if strategy.conditional_requests and held is not None:
                headers.update(held.conditions(self._patterns.active(domain)))
            result = self._fetch(lease, url["url"], headers)
            pool.report(lease, result.report)
        self.metrics.requests.labels(domain).inc()
        self.metrics.duration.observe(result.duration_ms / 1000)
        self.metrics.proxy_requests.labels(lease.url, lease.country or "", result.outcome).inc()
        if result.outcome != "ok":
            # a 429 is its own kind, as a platform that tells causes apart labels it
            kind = "rate_limited" if result.status == 429 else result.outcome
            self.metrics.errors.labels(domain, kind).inc()
            _log.error("GET %s failed: %s via proxy %s", url["url"], result.reason(),
                       _address(lease.url))  # fmt: skip
        if result.retry_after is not None:
            try:
                self._limiter.retry_after(domain, result.retry_after, f"HTTP 429 from {domain}")
            except OpsError as exc:
                _log.warning("%s: Retry-After of %s not shared: %s", self.name, domain, exc)
        return replace(result, proxy=lease.url, country=lease.country or "")

    def _row(self, url: dict[str, Any], result: _Attempt, extraction: Any) -> dict[str, Any]:
        fetched = result.outcome == "ok"
        return {
            "url_id": url["id"],
            "domain": url["domain"],
            "started_at": result.started_at,
            "duration_ms": result.duration_ms,
            "status": result.status,
            "proxy": result.proxy,
            "country": result.country,
            "worker": self.name,
            "outcome": result.outcome,
            "error": result.error,
            "bytes": len(result.body) if result.body else None,
            "fetched": fetched,
            "price": extraction.price if extraction else None,
            "currency": url["currency"],
            "confidence": extraction.confidence if extraction else None,
            "method": extraction.method if extraction else None,
        }

    def _fetch(self, lease: Lease, url: str, headers: dict[str, str]) -> _Attempt:
        started = datetime.now(UTC)
        begin = time.monotonic()

        def took() -> int:
            return int((time.monotonic() - begin) * 1000)

        def failed(outcome: str, status: int | None, error: str) -> _Attempt:
            ms = took()
            report = Outcome("failure", ms, error)
            return _Attempt(outcome, status, ms, b"", error, report, started_at=started)

        try:
            response = self._client(lease).get(url, headers=headers)
        except httpx.TimeoutException as exc:
            return failed("timeout", None, type(exc).__name__)
        except httpx.TransportError as exc:
            return failed("proxy_error", None, f"{type(exc).__name__}: {exc}"[:200])
        status = response.status_code
        if "proxy-status" in response.headers:
            return failed("proxy_error", status, response.headers["proxy-status"])
        ms = took()
        report = lease.outcome(status, ms, response.content)
        if status in (200, 304) and report.kind != "ban":
            etag = response.headers.get("etag", "")
            modified = response.headers.get("last-modified", "")
            return _Attempt("ok", status, ms, response.content, None, report, None, started,
                            etag=etag, last_modified=modified)  # fmt: skip
        outcome = "banned" if report.kind == "ban" else "http_error"
        wait = (
            retry_after_seconds(response.headers.get("retry-after"), time.time())
            if status == 429
            else None
        )
        return _Attempt(outcome, status, ms, b"", f"HTTP {status}", report, wait, started)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="opslib-lab-worker")
    parser.add_argument("--state-dir", type=Path, required=True)
    # a swarm service's replicas share one command: their index comes from the environment
    # (``LAB_WORKER_INDEX={{.Task.Slot}}``, see opslib.lab._swarm)
    index = os.environ.get(INDEX_ENV)
    parser.add_argument(
        "--index", type=int, required=index is None, default=int(index) if index else None
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise
    paths = LabPaths(args.state_dir)
    settings = load_recorded(args.state_dir)
    ops = load_settings(paths.config)
    if ops.database_dsn is None:
        _log.error("no database_dsn in %s", paths.config)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    worker = Worker(
        settings,
        args.index,
        ops,
        ControlFile(paths.control),
    )
    worker.run(stop)
    _log.info("%s: stopped", worker.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
