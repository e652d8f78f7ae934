"""Slow statements from pg_stat_statements (present and absent) and their plans, never run."""

from __future__ import annotations

import pytest

from opslib.config import Settings
from opslib.dbactivity import explain_statement, read_statements, slow_query_report
from opslib.dbactivity._statements import _missing_reason
from opslib.errors import DependencyError
from opslib.results import Severity
from tests.dbkit import TestDatabase


@pytest.fixture
def tracked(lockable: TestDatabase) -> TestDatabase:
    """``lockable`` with pg_stat_statements installed and its counters reset."""
    lockable.execute("CREATE EXTENSION pg_stat_statements")
    lockable.execute("SELECT pg_stat_statements_reset()")
    return lockable


def test_absent_extension_is_unknown_with_how_to_enable(lockable: TestDatabase) -> None:
    with pytest.raises(DependencyError, match="CREATE EXTENSION pg_stat_statements"):
        read_statements(lockable)
    report = slow_query_report(lockable, Settings())
    assert report.result.severity is Severity.UNKNOWN
    assert report.result.message().splitlines() == [
        "UNKNOWN: no slow statements, no missing index on the platform's filters:"
        f" pg_stat_statements is not installed in database {lockable.name}: run CREATE"
        " EXTENSION pg_stat_statements (as a superuser)"
    ]


def test_not_loaded_says_restart() -> None:
    reason = _missing_reason({"preload": "", "schema": None, "database": "shop"})
    assert reason is not None
    assert "shared_preload_libraries" in reason
    assert "restart" in reason


def test_top_statements_and_plans(tracked: TestDatabase) -> None:
    for n in range(5):
        tracked.fetch_all("SELECT n FROM lockme WHERE id = %s", (n,))
    tracked.fetch_all("SELECT pg_sleep(0.2), %s::int AS x", (1,))
    tracked.execute("UPDATE lockme SET n = n + %s WHERE id = %s", (5, 1))
    statements = read_statements(tracked, limit=5)
    worst = statements.by_mean[0]
    assert worst.query == "SELECT pg_sleep($2), $1::int AS x"
    assert worst.mean_ms >= 200
    lookup = next(s for s in statements.by_total if "FROM lockme WHERE id" in s.query)
    assert lookup.calls == 5
    assert lookup.query == "SELECT n FROM lockme WHERE id = $1"

    plan = explain_statement(tracked, lookup, statements.server_version)
    assert plan.plan is not None
    assert "lockme" in plan.plan, plan
    update = next(s for s in statements.by_total if s.query.startswith("UPDATE lockme"))
    refused = explain_statement(tracked, update, 150000)
    assert refused.plan is None
    assert refused.reason.startswith("an UPDATE statement: before PostgreSQL 16 only plain SELECTs")
    assert tracked.fetch_one("SELECT n FROM lockme") == {"n": 5}  # updated once, by the test
    ours = "SELECT name FROM pg_prepared_statements WHERE name LIKE 'opslib_explain%'"
    assert tracked.fetch_all(ours) == []


def test_explain_never_runs_the_statement(tracked: TestDatabase) -> None:
    tracked.execute("CREATE TABLE audit_probe (x int)")
    tracked.fetch_all("SELECT count(*) FROM audit_probe WHERE x > %s", (1,))
    statements = read_statements(tracked)
    probe = next(s for s in statements.by_total if "audit_probe WHERE" in s.query)
    sneaky = type(probe)(probe.queryid, "SELECT 1; DELETE FROM audit_probe", 1, 1.0, 1.0, 1)
    assert explain_statement(tracked, sneaky, 150000).reason == "not a single statement"
    into = type(probe)(probe.queryid, "SELECT x INTO copy FROM audit_probe", 1, 1.0, 1.0, 1)
    assert "SELECT INTO" in explain_statement(tracked, into, 150000).reason
    volatile = type(probe)(probe.queryid, "SELECT nextval($1)", 1, 1.0, 1.0, 1)
    explained = explain_statement(tracked, volatile, 150000)
    assert explained.plan is not None or explained.reason.startswith("EXPLAIN failed")
    assert tracked.fetch_one("SELECT to_regclass('copy') AS t") == {"t": None}


def test_slow_statement_judged(tracked: TestDatabase) -> None:
    tracked.fetch_all("SELECT %s::text AS once, pg_sleep(0.5)", ("a",))  # a one-off: not judged
    for _ in range(5):
        tracked.fetch_all("SELECT pg_sleep(0.06), %s::int AS x", (1,))
    strict = Settings(thresholds={"db.statement_mean_ms": {"warn": 20, "crit": 50}})
    report = slow_query_report(tracked, strict, explain=1)
    assert report.result.severity is Severity.CRITICAL
    message = report.result.message()
    assert "statement_mean_ms" in message
    assert "AS x" in message, message
    assert "once" not in message
    assert "opslib db slow-queries" in report.result.remediation
    assert report.explained
    assert report.explained[0].statement.query.startswith("SELECT pg_sleep")
    assert slow_query_report(tracked, Settings()).result.severity is Severity.OK
