"""Proxy performance from scrape_logs in a real database."""

from __future__ import annotations

from opslib.adapters import Database
from opslib.config import Settings
from opslib.proxies import proxy_performance, proxy_stats
from opslib.results import Severity


def _log(db: Database, proxy: str, outcomes: list[tuple[str, int]]) -> None:
    db.execute_many(
        "INSERT INTO scrape_logs"
        " (domain, proxy, proxy_country, outcome, duration_ms, started_at)"
        " VALUES ('alpha-shop.test', %s, 'de', %s, %s, now() - interval '1 minute')",
        [(proxy, outcome, ms) for outcome, ms in outcomes],
    )


def test_stats_count_only_proxy_faults_as_failures(platform_db: Database) -> None:
    _log(platform_db, "proxy-de-1", [("ok", 100)] * 8 + [("http_error", 100), ("timeout", 5000)])
    [stats] = proxy_stats(platform_db, 60)
    assert (stats.total, stats.succeeded) == (10, 9)
    assert stats.p95_ms is not None
    assert 2700 < stats.p95_ms < 5000


def test_failing_and_slow_proxies_are_flagged(platform_db: Database) -> None:
    _log(platform_db, "good", [("ok", 80)] * 50)
    _log(platform_db, "dead", [("proxy_error", 10)] * 40 + [("ok", 90)] * 10)
    _log(platform_db, "slow", [("ok", 3000)] * 50)
    result = proxy_performance(platform_db, Settings())
    assert result.severity is Severity.CRITICAL
    flagged = {(m.name, m.subject, m.severity) for m in result.problems}
    assert flagged == {
        ("success_rate", "dead", Severity.CRITICAL),
        ("p95_latency", "slow", Severity.WARNING),
    }


def test_no_logs_is_unknown(platform_db: Database) -> None:
    result = proxy_performance(platform_db, Settings())
    assert result.severity is Severity.UNKNOWN
    assert "no scrape_logs rows" in result.message()
