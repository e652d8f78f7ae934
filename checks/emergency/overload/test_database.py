"""emergency.overload: System Overload Response, the database (runbook: ``pg_stat_activity``,
"optimize queries").

Connections against ``max_connections``, long-running queries and idle transactions, sessions
blocked by another's lock, slow statements and missing indexes; every red check names the
command that acts (``opslib db cancel PID``, ``opslib db terminate PID``, ``opslib db
slow-queries --apply``). The containers (CPU, memory: scale, limits) and the queue (size,
growth, drain time: pause low priority, intervals) join beside this file as
``test_containers.py`` and ``test_queue.py``, with the same marker.
"""

from __future__ import annotations

import pytest

from opslib import dbactivity
from opslib.adapters import Database
from opslib.config import Settings
from opslib.pytest_plugin import Verdict

pytestmark = pytest.mark.sop("emergency.overload")


def test_database_connections(
    ops_db: Database, ops_settings: Settings, ops_verdict: Verdict
) -> None:
    """Client sessions under db.connections_used of max_connections."""
    ops_verdict(dbactivity.connection_usage(ops_db, ops_settings))


def test_long_queries(ops_db: Database, ops_settings: Settings, ops_verdict: Verdict) -> None:
    """No query running longer than db.query_seconds, no transaction left open longer than
    db.idle_in_transaction_seconds."""
    ops_verdict(dbactivity.long_queries(ops_db, ops_settings))


def test_blocked_queries(ops_db: Database, ops_settings: Settings, ops_verdict: Verdict) -> None:
    """No session waiting for another's lock longer than db.lock_wait_seconds; the head of each
    lock queue is named with the command that frees it."""
    ops_verdict(dbactivity.blocked_sessions(ops_db, ops_settings))


def test_slow_statements(ops_db: Database, ops_settings: Settings, ops_verdict: Verdict) -> None:
    """The statements with the highest mean time under db.statement_mean_ms (pg_stat_statements),
    and an index for every filter the platform's queries use (db.missing_indexes)."""
    ops_verdict(dbactivity.slow_statements(ops_db, ops_settings))
