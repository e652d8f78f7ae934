"""emergency.overload, the database part: connections, long queries, blocked sessions."""

from __future__ import annotations

from collections.abc import Callable

from opslib.adapters import Database
from opslib.config import Settings
from opslib.dbactivity._activity import Activity, Session, read_activity
from opslib.results import CheckResult, Measurement, Table, Threshold

__all__ = ["SOP", "blocked_sessions", "connection_usage", "long_queries", "signal_command"]

SOP = "emergency.overload"
"""The SOP id of the runbook's System Overload response."""
_SHOWN = 20


def signal_command(action: str, session: Session) -> str:
    """The command that cancels or terminates ``session`` (``--force`` for a superuser's)."""
    force = " --force" if session.superuser else ""
    return f"opslib db {action} {session.pid}{force}"


def _subject(session: Session) -> str:
    who = session.application or session.user or session.backend_type
    return f"pid {session.pid} ({who})" if who else f"pid {session.pid}"


def _age(value: float | None) -> str:
    return "" if value is None else f"{value:.0f} s"


def _query(text: str, width: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def sessions_table(sessions: tuple[Session, ...], title: str) -> Table:
    """``sessions`` as a report table (at most 20 rows)."""
    return Table(
        columns=("pid", "user", "application", "state", "wait", "query age", "xact age", "query"),
        rows=tuple(
            (
                str(s.pid),
                s.user or "",
                s.application,
                s.state,
                s.wait,
                _age(s.query_seconds),
                _age(s.xact_seconds),
                _query(s.query),
            )
            for s in sessions[:_SHOWN]
        ),
        title=title,
    )


def connection_usage(
    db: Database, settings: Settings, activity: Activity | None = None
) -> CheckResult:
    """Client sessions against ``max_connections`` (threshold ``db.connections_used``)."""
    activity = activity or read_activity(db)
    title = "database connections under max_connections"
    clients = activity.clients
    by_state: dict[str, int] = {}
    for s in clients:
        by_state[s.state or "unknown"] = by_state.get(s.state or "unknown", 0) + 1
    idle_tx = sorted(
        (s for s in activity.others if s.idle_in_transaction),
        key=lambda s: -(s.state_seconds or 0),
    )
    measurement = Measurement(
        "connections_used",
        round(activity.connections_used, 3),
        settings.threshold("db.connections_used"),
        subject=f"{len(clients)} of {activity.max_connections}",
        note=", ".join(f"{n} {state}" for state, n in sorted(by_state.items())),
    )
    fixes = ["see who holds them: `opslib db activity`"]
    fixes += [f"`{signal_command('terminate', s)}` (idle in transaction)" for s in idle_tx[:3]]
    fixes.append("then lower the scrapers' pool sizes or scale them down (`opslib scale`)")
    return CheckResult(
        sop=SOP,
        title=title,
        measurements=(measurement,),
        remediation="; ".join(fixes),
        tables=(
            Table(
                columns=("state", "sessions"),
                rows=tuple((state, str(n)) for state, n in sorted(by_state.items())),
                title=f"client sessions ({activity.max_connections} allowed)",
            ),
        ),
    )


def _judge_ages(
    sessions: list[Session],
    name: str,
    age: Callable[[Session], float | None],
    limit: Threshold,
    *,
    action: str,
    empty: str,
) -> tuple[list[Measurement], list[str]]:
    """The oldest of ``sessions`` and every one over ``limit``; the commands for those."""
    measurements: list[Measurement] = []
    fixes: list[str] = []
    for n, s in enumerate(sessions):
        m = Measurement(name, round(age(s) or 0, 1), limit, _subject(s), note=_query(s.query, 60))
        if n == 0 or m.severity.rank:
            measurements.append(m)
        if m.severity.rank:
            fixes.append(f"`{signal_command(action, s)}`")
    return measurements or [Measurement(name, 0, limit, note=empty)], fixes


def long_queries(db: Database, settings: Settings, activity: Activity | None = None) -> CheckResult:
    """Running queries and open idle transactions, each against its age threshold
    (``db.query_seconds``, ``db.idle_in_transaction_seconds``); opslib's own session aside."""
    activity = activity or read_activity(db)
    active = sorted(
        (s for s in activity.others if s.active and s.query_seconds is not None),
        key=lambda s: -(s.query_seconds or 0),
    )
    idle = sorted(
        (s for s in activity.others if s.idle_in_transaction and s.state_seconds is not None),
        key=lambda s: -(s.state_seconds or 0),
    )
    queries, cancels = _judge_ages(
        active, "query_seconds", lambda s: s.query_seconds,
        settings.threshold("db.query_seconds"), action="cancel", empty="no other query is running",
    )  # fmt: skip
    open_tx, terminates = _judge_ages(
        idle, "idle_in_transaction_seconds", lambda s: s.state_seconds,
        settings.threshold("db.idle_in_transaction_seconds"), action="terminate", empty="none open",
    )  # fmt: skip
    fixes = cancels + terminates
    remediation = (
        "cancel the query: "
        + ", ".join(fixes[:5])
        + " (terminate a session whose transaction stays open); then `opslib db slow-queries`"
        " for the statements to optimise"
    )
    return CheckResult(
        sop=SOP,
        title="no long-running queries or idle transactions",
        measurements=tuple(queries + open_tx),
        remediation=remediation if fixes else "",
        tables=(sessions_table(tuple(active + idle), "running queries and open transactions"),),
    )


def blocked_sessions(
    db: Database, settings: Settings, activity: Activity | None = None
) -> CheckResult:
    """Sessions waiting for another's lock, each against ``db.lock_wait_seconds``; the red check
    names the sessions at the head of each lock queue and the command that frees them."""
    activity = activity or read_activity(db)
    title = "no session blocked by another's lock"
    limit = settings.threshold("db.lock_wait_seconds")
    measurements: list[Measurement] = []
    for s in activity.blocked():
        blockers = ", ".join(str(p) for p in s.blocked_by)
        measurements.append(
            Measurement(
                "lock_wait_seconds",
                round(s.query_seconds or 0, 1),
                limit,
                _subject(s),
                note=f"blocked by pid {blockers}: {_query(s.query, 60)}",
            )
        )
    if not measurements:
        measurements.append(
            Measurement("lock_wait_seconds", 0, limit, note="no session waits for a lock")
        )
    fixes = []
    for root in activity.roots():
        action = "terminate" if root.idle_in_transaction else "cancel"
        fixes.append(
            f"`{signal_command(action, root)}` ({root.state or root.backend_type}, blocks"
            f" {activity.blocked_count(root.pid)})"
        )
    remediation = (
        "free the head of each lock queue: "
        + ", ".join(fixes[:5])
        + "; terminate it if cancelling leaves its transaction open"
    )
    if not fixes and activity.blocked():
        # pg_blocking_pids() gives 0 for a prepared transaction: no session to signal.
        remediation = (
            "the lock is held by no session (a prepared transaction: see pg_prepared_xacts,"
            " then COMMIT PREPARED or ROLLBACK PREPARED); `opslib db activity` shows the queue"
        )
    tree = Table(
        columns=("pid", "blocked by", "user", "state", "wait", "query age", "query"),
        rows=tuple(
            (
                "  " * depth + str(s.pid),
                ", ".join(str(p) for p in s.blocked_by),
                s.user or "",
                s.state,
                s.wait,
                _age(s.query_seconds),
                _query(s.query, 60),
            )
            for depth, s in list(activity.tree())[:_SHOWN]
        ),
        title="blocking tree",
    )
    return CheckResult(
        sop=SOP,
        title=title,
        measurements=tuple(measurements),
        remediation=remediation if activity.blocked() else "",
        tables=(tree,),
    )
