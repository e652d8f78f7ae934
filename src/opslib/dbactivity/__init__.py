"""Database activity and slow queries (runbook System Overload: ``pg_stat_activity``, "optimize
queries"): sessions, their waits and the blocking tree; cancel or terminate a session (plan,
then apply); slow statements from ``pg_stat_statements`` with their plans; index advice."""

from opslib.dbactivity._activity import Activity, Session, read_activity
from opslib.dbactivity._indexes import IndexAdvice, advise_indexes, apply_index, index_name
from opslib.dbactivity._judge import (
    SOP,
    blocked_sessions,
    connection_usage,
    long_queries,
    signal_command,
)
from opslib.dbactivity._signal import (
    SignalAction,
    SignalPlan,
    SignalResult,
    apply_signal,
    plan_signal,
)
from opslib.dbactivity._slow import SlowQueryReport, slow_query_report, slow_statements
from opslib.dbactivity._statements import (
    Explained,
    Statement,
    Statements,
    explain_statement,
    read_statements,
)

__all__ = [
    "SOP",
    "Activity",
    "Explained",
    "IndexAdvice",
    "Session",
    "SignalAction",
    "SignalPlan",
    "SignalResult",
    "SlowQueryReport",
    "Statement",
    "Statements",
    "advise_indexes",
    "apply_index",
    "apply_signal",
    "blocked_sessions",
    "connection_usage",
    "explain_statement",
    "index_name",
    "long_queries",
    "plan_signal",
    "read_activity",
    "read_statements",
    "signal_command",
    "slow_query_report",
    "slow_statements",
]
