"""A second platform for the tests, deliberately unlike the lab, configured only through settings.

``pricewatch-eu`` (as its ``platform_name`` says) has:

- a crawler exporter (prometheus_client, own registry) with ``crawler_failures_total{site}``,
  ``crawler_items_done_total`` and the queue gauge ``work_queue_depth``, and no requests counter;
- a real Prometheus scraping it that drops ``work_queue_depth`` (``metric_relabel_configs``), so
  the queue exists only on the crawler's ``/metrics``;
- a database of its own with ``shop.pages(page_id, site)``, ``shop.prices(page_id, amount,
  confidence, seen_at)`` holding 24 h of hourly history, and ``shop.fetch_log`` without proxy
  columns; opslib's schema beside them (``opslib db migrate``);
- real HTTP forward proxies in opslib's pool (``opslib proxies update``), an httpbin-shaped
  judge, and a scraper thread that leases through :class:`opslib.ProxyPool`, so proxy
  performance comes from the pool's own usage;
- a compose project with a long-running ``crawler`` container and a one-shot ``migrate`` job
  (restart policy ``no``, exit 0), from the locally built image.

Everything listens on 127.0.0.1. :func:`bring_up` yields it running and removes every piece.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.models.containers
import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server
from psycopg import sql

from opslib import Outcome, ProxyPool
from opslib.adapters import Database, Prometheus
from opslib.errors import OpsError
from opslib.lab._image import ensure_image
from opslib.lab._postgres import PostgresCluster
from tests.adapters.conftest import Containers
from tests.proxies.servers import ProxyServers, serving
from tests.support import free_port, wait_until

__all__ = [
    "COUNTRIES",
    "ITEMS_PER_SECOND",
    "PLATFORM_NAME",
    "QUEUE_DEPTH",
    "SITES",
    "WINDOW",
    "Exporter",
    "Platform2",
    "bring_up",
    "opslib_cli",
]

PLATFORM_NAME = "pricewatch-eu (second test platform)"
SITES = ("alpha-shop.test", "bravo-shop.test", "charlie-shop.test")
HEALTHY_FAILURES = {"alpha-shop.test": 0.2, "bravo-shop.test": 0.1, "charlie-shop.test": 0.1}
ITEMS_PER_SECOND = 5.0
QUEUE_DEPTH = 120  # steady: two /metrics samples seconds apart judge its growth truly
COUNTRIES = ("DE", "DE", "FR", "FR", "US", "US")  # one proxy each
WINDOW = "15s"  # error_window and rate_window: the platform is time-compressed, as the lab is
_TICK = 0.25
_PAGES_PER_SITE = 14

CRAWLER = """\
import signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print("crawler: waiting for work", flush=True)
while True:
    time.sleep(1)
"""
MIGRATE = 'print("migrate: 3 migrations applied")\n'


class Exporter:
    """The crawler's metrics, changing steadily in a ticker thread; ``burst`` makes one site
    fail at ``per_second``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.failures = Counter(
            "crawler_failures", "Failed fetches.", ["site"], registry=self.registry
        )
        self.items_done = Counter("crawler_items_done", "Items crawled.", registry=self.registry)
        self.queue = Gauge("work_queue_depth", "Items waiting.", registry=self.registry)
        self.queue.set(QUEUE_DEPTH)
        self.rates = dict(HEALTHY_FAILURES)
        for site in SITES:
            self.failures.labels(site)
        self.port = free_port()
        self._server, self._thread = start_http_server(
            self.port, addr="127.0.0.1", registry=self.registry
        )
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="platform2-exporter", daemon=True)
        self._ticker.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"

    def burst(self, site: str, per_second: float) -> None:
        self.rates[site] = per_second

    def calm(self) -> None:
        self.rates = dict(HEALTHY_FAILURES)

    def _tick(self) -> None:
        while not self._stop.wait(_TICK):
            for site, rate in list(self.rates.items()):
                self.failures.labels(site).inc(rate * _TICK)
            self.items_done.inc(ITEMS_PER_SECOND * _TICK)

    def close(self) -> None:
        self._stop.set()
        self._ticker.join(5)
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@contextlib.contextmanager
def _prometheus(binary: str, base: Path, exporter: Exporter) -> Iterator[str]:
    """A Prometheus (1 s scrapes) of the exporter that keeps every series but the queue's."""
    port = free_port()
    config = base / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 500ms\n"
        "scrape_configs:\n"
        "  - job_name: crawler\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{exporter.port}']}}]\n"
        "    metric_relabel_configs:\n"
        "      - {source_labels: [__name__], regex: work_queue_depth, action: drop}\n"
    )
    log_path = base / "prometheus.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={base / 'prom-data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


_SCHEMA = """
CREATE SCHEMA shop;
CREATE TABLE shop.pages (
    page_id serial PRIMARY KEY, site text NOT NULL, link text NOT NULL UNIQUE);
CREATE TABLE shop.prices (
    page_id integer NOT NULL REFERENCES shop.pages, amount numeric(10, 2), confidence real,
    seen_at timestamptz NOT NULL);
CREATE INDEX ON shop.prices (seen_at);
CREATE TABLE shop.fetch_log (
    id bigserial PRIMARY KEY, page_id integer NOT NULL REFERENCES shop.pages,
    fetched_at timestamptz NOT NULL, http_status integer);
"""

_PAGES = """
INSERT INTO shop.pages (site, link)
SELECT site, 'https://' || site || '/p/' || n
FROM unnest(%(sites)s::text[]) AS site, generate_series(1, %(pages)s) AS n
"""

# 24 whole hours and the current one: every page checked once an hour, 80 s apart (42 pages fit
# in an hour); about 2 % without a price, confidence 0.90-0.97. Nothing after now.
_PRICES = """
WITH checks AS (
    SELECT p.page_id, h,
           date_trunc('hour', now()) - make_interval(hours => h)
               + make_interval(secs => p.page_id * 80) AS at
    FROM shop.pages p, generate_series(0, 24) AS h)
INSERT INTO shop.prices (page_id, amount, confidence, seen_at)
SELECT page_id, CASE WHEN (page_id + h) % 50 = 0 THEN NULL ELSE 10 + page_id END,
       0.90 + ((page_id * 7 + h) % 8) / 100.0, at
FROM checks WHERE at <= now()
"""

_FETCHES = """
INSERT INTO shop.fetch_log (page_id, fetched_at, http_status)
SELECT page_id, seen_at, CASE WHEN amount IS NULL THEN 500 ELSE 200 END FROM shop.prices
"""


def _config(
    path: Path, *, dsn: str, prometheus: str, metrics: str, project: str, judge: str, backups: Path
) -> None:
    text = f"""\
platform_name = "{PLATFORM_NAME}"
database_dsn = "{dsn}"
prometheus_url = "{prometheus}"
metrics_urls = ["{metrics}"]
compose_project = "{project}"
scraper_service = "crawler"
expected_services = ["crawler"]
error_window = "{WINDOW}"
rate_window = "{WINDOW}"

[metric_names]
errors = "crawler_failures_total"
processed = "crawler_items_done_total"
queue = "work_queue_depth"
domain_label = "site"
sample_seconds = 2

[tables.monitored_urls]
name = "shop.pages"
id = "page_id"
domain = "site"

[tables.price_history]
name = "shop.prices"
url_id = "page_id"
price = "amount"
extraction_confidence = "confidence"
checked_at = "seen_at"

[tables.scrape_logs]
name = "shop.fetch_log"
started_at = "fetched_at"
status_code = "http_status"

[proxies]
judge_url = "{judge}"
test_timeout = 3
test_deadline = 20
required_countries = {{ DE = 2, FR = 2, US = 1 }}

[backups]
backup_dir = "{backups}"
"""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # the DSN is a secret
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def cli_env(config: Path) -> dict[str, str]:
    """The environment of an ``opslib`` or ``pytest`` run against the platform: its config file
    and no other ``OPSLIB_*`` setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSLIB_")}
    env["OPSLIB_CONFIG"] = str(config)
    return env


def opslib_cli(config: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``opslib ARGS`` as an operator runs it against the platform."""
    return subprocess.run(
        [sys.executable, "-m", "opslib.cli", *args],
        env=cli_env(config), capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


@dataclass
class Scraper:
    """A small scraper: leases a proxy from opslib's pool for each fetch of a shop page, reports
    how it went, and writes the price and the fetch to the platform's tables."""

    dsn: str
    target: str
    interval: float = 0.3
    fetches: int = 0
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="platform2-scraper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        with Database(self.dsn, application_name="platform2-scraper") as db:
            pool = ProxyPool(db)
            page = 0
            while not self._stop.wait(self.interval):
                page = page % (len(SITES) * _PAGES_PER_SITE) + 1
                site = SITES[(page - 1) // _PAGES_PER_SITE]
                try:
                    self._fetch(db, pool, site, page)
                except (OpsError, httpx.HTTPError) as exc:
                    self.errors.append(f"{type(exc).__name__}: {exc}")

    def _fetch(self, db: Database, pool: ProxyPool, site: str, page: int) -> None:
        lease = pool.acquire(site)
        began = time.monotonic()
        try:
            response = httpx.get(self.target, proxy=lease.connect_url(), timeout=5)
        except httpx.HTTPError as exc:
            pool.report(lease, Outcome("failure", reason=type(exc).__name__))
            raise
        ms = (time.monotonic() - began) * 1000
        pool.report(lease, lease.outcome(response.status_code, ms, response.content))
        db.execute(
            "INSERT INTO shop.prices (page_id, amount, confidence, seen_at)"
            " VALUES (%s, %s, 0.93, now())",
            (page, 10 + page),
        )
        db.execute(
            "INSERT INTO shop.fetch_log (page_id, fetched_at, http_status) VALUES (%s, now(), %s)",
            (page, response.status_code),
        )
        self.fetches += 1


@dataclass
class Platform2:
    """The running second platform and the handles the tests break it with."""

    config: Path
    dsn: str
    password: str
    prometheus_url: str
    exporter: Exporter
    servers: ProxyServers
    containers: Containers
    scraper: Scraper
    crawler: str  # container name
    migrate: str  # container name

    def env(self) -> dict[str, str]:
        return cli_env(self.config)

    def container(self, name: str) -> docker.models.containers.Container:
        return self.containers.client.containers.get(name)


def _create_database(cluster: PostgresCluster) -> tuple[str, str]:
    name = f"p2_{uuid.uuid4().hex[:10]}"
    with Database(cluster.dsn) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name, cluster.dsn.replace(f"dbname={cluster.database}", f"dbname={name}")


def _drop_database(cluster: PostgresCluster, name: str) -> None:
    with Database(cluster.dsn) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _seed(dsn: str) -> None:
    with Database(dsn) as db:
        db.execute_script(_SCHEMA)
        db.execute(_PAGES, {"sites": list(SITES), "pages": _PAGES_PER_SITE})
        db.execute(_PRICES)
        db.execute(_FETCHES)


@contextlib.contextmanager
def bring_up(
    cluster: PostgresCluster, client: docker.DockerClient, prometheus_bin: str, base: Path
) -> Iterator[Platform2]:
    """Start every piece, wait until the checks have something true to look at, yield; remove
    every container, process and the database afterwards."""
    exporter = Exporter()
    stack = contextlib.ExitStack()
    stack.callback(exporter.close)
    with stack:
        prometheus = stack.enter_context(_prometheus(prometheus_bin, base, exporter))
        name, dsn = _create_database(cluster)
        stack.callback(_drop_database, cluster, name)
        _seed(dsn)
        servers = stack.enter_context(serving())
        proxies = [servers.http_proxy("ok") for _ in COUNTRIES]
        judge = servers.judge("httpbin", "/get")
        project = f"pricewatch-eu-{uuid.uuid4().hex[:8]}"
        backups = base / "backups"
        backups.mkdir()
        config = base / "opslib.toml"
        _config(
            config, dsn=dsn, prometheus=prometheus, metrics=exporter.url, project=project,
            judge=judge, backups=backups,
        )  # fmt: skip
        for step in (("db", "migrate"), ("proxies", "update", str(_proxy_list(base, proxies)))):
            run = opslib_cli(config, *step)
            assert run.returncode == 0, f"opslib {' '.join(step)}: {run.stdout}{run.stderr}"
        containers = Containers(client, project, ensure_image(client))
        stack.callback(containers.remove_all)
        migrate = containers.run("migrate", MIGRATE, restart_policy={"Name": "no"})
        crawler = containers.run(
            "crawler", CRAWLER, mem_limit="128m", restart_policy={"Name": "unless-stopped"}
        )
        scraper = Scraper(dsn, servers.target_url)
        scraper.start()
        stack.callback(scraper.stop)
        platform = Platform2(
            config, dsn, cluster.password, prometheus, exporter, servers, containers, scraper,
            crawler, migrate,
        )  # fmt: skip
        _wait_ready(platform)
        yield platform


def _proxy_list(base: Path, ports: list[int]) -> Path:
    """The pool's proxies as a provider publishes them: ``url,country`` lines."""
    path = base / "proxies.txt"
    lines = [f"http://127.0.0.1:{port},{cc}" for port, cc in zip(ports, COUNTRIES, strict=True)]
    path.write_text("# pricewatch-eu proxies\n" + "\n".join(lines) + "\n")
    return path


def _wait_ready(platform: Platform2) -> None:
    """The migrate job done, the crawler running, the pool used, and Prometheus holding more
    than one window of history (rate() over a window older than the series undercounts)."""

    def containers_settled() -> bool:
        migrate, crawler = (
            platform.container(platform.migrate),
            platform.container(platform.crawler),
        )
        return migrate.status == "exited" and crawler.status == "running"

    wait_until(containers_settled, 30, "the migrate job to exit and the crawler to run")
    exit_code = platform.container(platform.migrate).attrs["State"]["ExitCode"]
    assert exit_code == 0, platform.container(platform.migrate).logs()
    wait_until(lambda: platform.scraper.fetches >= 12, 30, "the scraper to use the proxy pool")
    assert not platform.scraper.errors, platform.scraper.errors
    seconds = int(WINDOW.rstrip("s"))
    with Prometheus(platform.prometheus_url, timeout=2) as prom:

        def history() -> bool:
            try:
                seen = prom.scalar("min(count_over_time(crawler_failures_total[1m]))")
            except OpsError:  # still starting up
                return False
            return (seen or 0) >= seconds + 3

        wait_until(history, 45, f"{WINDOW} of crawler history in Prometheus")
