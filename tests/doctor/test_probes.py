"""Doctor's probes against fakes of their own Protocols, and the database probe for real."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from opslib.adapters import ContainerInfo, MetricSample, MetricsSnapshot
from opslib.config import BackupSettings, Settings
from opslib.doctor import (
    Probe,
    probe_backups,
    probe_docker,
    probe_metrics,
    probe_postgres,
    probe_prometheus,
    probe_proxies,
)
from opslib.errors import OpsError, UnreachableError
from tests.dbkit import TestDatabase
from tests.health.fakes import container


@dataclass
class FakeProm:
    series: dict[str, float] = field(default_factory=dict)
    error: OpsError | None = None
    asked: list[str] = field(default_factory=list)

    def probe(self) -> str:
        if self.error is not None:
            raise self.error
        return "2.45"

    def scalar(self, promql: str) -> float | None:
        self.asked.append(promql)
        return self.series.get(promql)


@dataclass
class FakeEngine:
    found: list[ContainerInfo] = field(default_factory=list)
    error: OpsError | None = None

    def probe(self) -> str:
        if self.error is not None:
            raise self.error
        return "28.2"

    def containers(self, service: str | None = None) -> list[ContainerInfo]:
        return self.found


def _by_key(probes: list[Probe]) -> dict[str, Probe]:
    return {p.key: p for p in probes}


def test_prometheus_probe_looks_up_each_configured_metric() -> None:
    settings = Settings(metric_names={"errors": "crawler_failures_total"})
    prom = FakeProm({"count(crawler_failures_total)": 3.0, "count(queue_size)": 2.0})
    found = _by_key(probe_prometheus(prom, settings))
    assert found["prometheus.errors"].found
    assert found["prometheus.errors"].detail == "3 series"
    assert not found["prometheus.requests"].found
    assert "metric_names.requests" in found["prometheus.requests"].fix
    assert "count(crawler_failures_total)" in prom.asked


def test_unreachable_prometheus_marks_every_metric_unreachable() -> None:
    prom = FakeProm(error=UnreachableError("prometheus", "connection refused"))
    probes = probe_prometheus(prom, Settings(prometheus_url="http://u:Secret99@127.0.0.1:1"))
    assert probes
    assert all(p.unreachable and not p.found for p in probes)
    assert all("Secret99" not in p.detail + p.fix for p in probes)


def test_metrics_probe_counts_endpoints_exporting_each_name() -> None:
    answering = MetricsSnapshot("http://a/metrics", (MetricSample("queue_size", {}, 4.0),))
    down = UnreachableError("metrics http://b/metrics", "refused")
    found = _by_key(probe_metrics([answering, down], Settings()))
    assert found["metrics.queue"].found
    assert found["metrics.queue"].detail == (
        "1 of 2 endpoints export it; 1 of 2 endpoints answered; metrics http://b/metrics: refused"
    )
    assert not found["metrics.processed"].found
    assert not found["metrics.processed"].unreachable  # one endpoint answered without it


def test_docker_probe_names_the_project_and_absent_services() -> None:
    engine = FakeEngine([container("shop-crawler-1", "crawler")])
    (probe,) = probe_docker(engine, Settings(expected_services=["crawler", "api"]))
    assert probe.found
    assert "expected but absent: api" in probe.detail
    (empty,) = probe_docker(FakeEngine(), Settings(compose_project="nowhere"))
    assert not empty.found
    assert "compose_project" in empty.fix


def test_backup_probe_needs_a_writable_directory(tmp_path: Path) -> None:
    settings = Settings(backups=BackupSettings(backup_dir=tmp_path / "absent"))
    found = _by_key(probe_backups(settings, "/usr/lib/postgresql/15/bin/pg_dump"))
    assert not found["backups.directory"].found
    assert found["backups.pg_dump"].found
    ok = Settings(backups=BackupSettings(backup_dir=tmp_path))
    assert _by_key(probe_backups(ok, OpsError("no pg_dump")))["backups.directory"].found


def test_judge_probe_says_which_setting_to_write() -> None:
    (probe,) = probe_proxies(Settings())
    assert not probe.found
    assert "proxies.judge_url" in probe.fix


def test_postgres_probe_on_a_real_database(platform_db: TestDatabase) -> None:
    found = _by_key(probe_postgres(platform_db, Settings()))
    assert found["postgresql.price_history"].found
    assert found["postgresql.monitored_urls"].found
    assert found["postgresql.scrape_logs_proxy"].found  # the lab schema has proxy columns
    assert found["opslib.schema"].found
    assert not found["opslib.pool_usage"].found  # nothing leased yet
    renamed = Settings(tables={"price_history": {"name": "prices"}})
    missing = _by_key(probe_postgres(platform_db, renamed))["postgresql.price_history"]
    assert not missing.found
    assert "tables.price_history.name" in missing.fix


def test_postgres_probe_on_a_database_without_opslib(fresh_db: TestDatabase) -> None:
    found = _by_key(probe_postgres(fresh_db, Settings()))
    assert not found["opslib.schema"].found
    assert found["opslib.schema"].fix == "opslib db migrate"
    assert not found["postgresql.price_history"].found


def test_table_probe_shows_the_platforms_own_column_names(platform_db: TestDatabase) -> None:
    platform_db.execute("ALTER TABLE monitored_urls RENAME COLUMN domain TO site")
    settings = Settings(tables={"monitored_urls": {"domain": "site"}})
    probe = _by_key(probe_postgres(platform_db, settings))["postgresql.monitored_urls"]
    assert probe.found
    assert probe.detail == "monitored_urls: id, site"
