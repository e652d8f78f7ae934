"""Proxy performance from scrape_logs (as configured) or opslib's pool, in a real database."""

from __future__ import annotations

import pytest

from opslib.adapters import Database
from opslib.config import Settings
from opslib.errors import DependencyError
from opslib.proxies import (
    Outcome,
    ProxyPool,
    ProxyState,
    parse_proxy_url,
    pool_proxy_stats,
    proxy_performance,
    proxy_stats,
)
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


def test_no_logs_and_no_pool_usage_is_one_line_naming_both(platform_db: Database) -> None:
    result = proxy_performance(platform_db, Settings())
    assert result.severity is Severity.UNKNOWN
    assert result.error == (
        "no proxy figures: scrape_logs has no rows with a proxy in the last 60 min;"
        " opslib's proxy pool recorded no requests in the last 60 min (scrapers that lease"
        " through ProxyPool.acquire report each request with ProxyPool.report)"
    )
    assert "\n" not in result.message()


def test_logs_name_their_source(platform_db: Database) -> None:
    _log(platform_db, "good", [("ok", 80)] * 5)
    result = proxy_performance(platform_db, Settings())
    assert result.title.endswith("from scrape_logs)")
    assert result.tables[0].title == "proxies (source: scrape_logs)"


def test_renamed_logs_give_the_runbooks_answers(platform_db: Database) -> None:
    _log(platform_db, "good", [("ok", 80)] * 50)
    _log(platform_db, "dead", [("proxy_error", 10)] * 40 + [("ok", 90)] * 10)
    _log(platform_db, "slow", [("ok", 3000)] * 50)
    runbook = proxy_performance(platform_db, Settings())
    platform_db.execute(
        "CREATE SCHEMA ops; CREATE TABLE ops.requests AS SELECT started_at AS t, proxy AS via,"
        " proxy_country AS cc, duration_ms AS ms, outcome AS result FROM scrape_logs;"
        " DROP TABLE scrape_logs"
    )
    names = {
        "name": "ops.requests",
        "started_at": "t",
        "proxy": "via",
        "proxy_country": "cc",
        "duration_ms": "ms",
        "outcome": "result",
    }
    renamed = proxy_performance(platform_db, Settings(tables={"scrape_logs": names}))
    assert renamed.measurements == runbook.measurements
    assert renamed.severity is Severity.CRITICAL
    assert renamed.tables[0].rows == runbook.tables[0].rows
    assert "from ops.requests" in renamed.title


def test_which_outcomes_are_proxy_faults_is_a_setting(platform_db: Database) -> None:
    _log(platform_db, "p", [("ok", 80)] * 6 + [("http_error", 80)] * 4)
    assert proxy_performance(platform_db, Settings()).severity is Severity.OK
    strict = Settings(tables={"scrape_logs": {"proxy_fault_outcomes": ["http_error"]}})
    [rate, _] = proxy_performance(platform_db, strict).measurements
    assert (rate.name, rate.value, rate.severity) == ("success_rate", 0.6, Severity.CRITICAL)


def test_without_an_outcome_column_status_codes_decide(platform_db: Database) -> None:
    platform_db.execute_many(
        "INSERT INTO scrape_logs (domain, proxy, outcome, status_code, duration_ms)"
        " VALUES ('alpha-shop.test', 'p', 'ok', %s, 50)",
        [(200,)] * 5 + [(503,)] * 3 + [(407,), (None,)],
    )
    platform_db.execute("ALTER TABLE scrape_logs DROP COLUMN outcome")
    [stats] = proxy_stats(platform_db, 60)
    assert (stats.total, stats.succeeded) == (10, 8)  # a shop's 503 is not the proxy's fault


def _pool_with_usage(db: Database) -> ProxyPool:
    """Two proxies used through opslib's pool: one fine, one failing most requests."""
    pool = ProxyPool(db)
    pool.upsert(
        [
            parse_proxy_url("http://10.0.0.1:3128", country="de"),
            parse_proxy_url("http://10.0.0.2:3128", country="fr"),
        ]
    )
    fine, failing = "http://10.0.0.1:3128", "http://10.0.0.2:3128"
    plan = [(fine, Outcome("success", 120.0))] * 9 + [(fine, Outcome("ban", 300.0))]
    plan += [(failing, Outcome("failure", reason="refused"))] * 8
    plan += [(failing, Outcome("success", 200.0))] * 2
    for url, outcome in plan:
        pool.set_state([u for u in (fine, failing) if u != url], ProxyState.RESERVE, "test")
        pool.set_state([url], ProxyState.ACTIVE, "test")
        db.execute("UPDATE opslib.proxies SET backoff_until = NULL")
        lease = pool.acquire("alpha-shop.test")
        assert lease.url == url
        pool.report(lease, outcome)
    return pool


def test_without_proxy_columns_the_pool_is_judged(platform_db: Database) -> None:
    platform_db.execute(
        "ALTER TABLE scrape_logs DROP COLUMN proxy, DROP COLUMN proxy_country,"
        " DROP COLUMN duration_ms, DROP COLUMN outcome"
    )
    _pool_with_usage(platform_db)
    result = proxy_performance(platform_db, Settings())
    assert "from opslib's proxy pool" in result.title
    assert result.tables[0].title == "proxies (source: pool)"
    rates = {m.subject: m.value for m in result.measurements if m.name == "success_rate"}
    assert rates == {"http://10.0.0.1:3128": 0.9, "http://10.0.0.2:3128": 0.2}
    assert result.severity is Severity.CRITICAL
    assert [m.subject for m in result.problems] == ["http://10.0.0.2:3128"]
    latency = {m.subject: m.value for m in result.measurements if m.name == "mean_latency"}
    assert set(latency) == {"http://10.0.0.1:3128", "http://10.0.0.2:3128"}
    assert all(v is not None and 100 < v < 300 for v in latency.values())


def test_pool_stats_count_failures_and_bans(platform_db: Database) -> None:
    _pool_with_usage(platform_db)
    stats = {s.proxy: s for s in pool_proxy_stats(platform_db, 60)}
    assert (stats["http://10.0.0.1:3128"].total, stats["http://10.0.0.1:3128"].succeeded) == (10, 9)
    assert stats["http://10.0.0.2:3128"].country == "fr"


def test_missing_logs_table_and_no_pool_is_one_line(fresh_db: Database) -> None:
    result = proxy_performance(fresh_db, Settings())
    assert result.severity is Severity.UNKNOWN
    assert result.error == (
        "no proxy figures: table scrape_logs not found (the runbook's scrape_logs): create it,"
        " or set tables.scrape_logs.name to the platform's table; the opslib schema has no"
        " proxy pool (run opslib db migrate)"
    )
    with pytest.raises(DependencyError, match=r"tables\.scrape_logs\.name"):
        proxy_stats(fresh_db, 60)
