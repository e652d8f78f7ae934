"""The weekly review on a real PostgreSQL seeded with the lab's history."""

from __future__ import annotations

from pathlib import Path

from opslib.adapters import Prometheus
from opslib.results import Severity
from opslib.review import performance_review
from tests.review.conftest import Seeder, settings_for


def test_a_domain_slower_this_week_is_the_first_area(seeded: Seeder, tmp_path: Path) -> None:
    db = seeded(21)
    db.execute(
        "UPDATE scrape_logs SET duration_ms = duration_ms * 3"
        " WHERE domain = 'bravo-shop.test' AND started_at > now() - interval '7 days'"
    )
    report = performance_review(db, settings_for(db, tmp_path))
    domains, throughput, prometheus = report.results
    assert domains.severity is Severity.CRITICAL
    slower = {m.subject for m in domains.problems if m.name == "latency_rise"}
    assert "bravo-shop.test" in slower
    assert slower <= {"bravo-shop.test", ""}  # the overall p95 may follow it
    top = {a.subject: a for a in report.areas[:2]}
    assert "bravo-shop.test" in top
    assert "p95" in top["bravo-shop.test"].evidence[0]
    assert throughput.severity is Severity.OK
    assert prometheus.severity is Severity.UNKNOWN
    assert prometheus.error == "no Prometheus configured"
    assert len(report.daily) >= 14


def test_one_week_of_history_is_unknown(seeded: Seeder, tmp_path: Path) -> None:
    db = seeded(5)
    report = performance_review(db, settings_for(db, tmp_path))
    assert report.results[0].severity is Severity.UNKNOWN
    assert "14 days of history" in report.results[0].error


def test_unreachable_prometheus_is_one_line(seeded: Seeder, tmp_path: Path) -> None:
    db = seeded(15)
    with Prometheus("http://127.0.0.1:9", timeout=2) as prometheus:
        report = performance_review(db, settings_for(db, tmp_path), prometheus=prometheus)
    result = report.results[2]
    assert result.severity is Severity.UNKNOWN
    assert "prometheus" in result.error
    assert "\n" not in result.error
