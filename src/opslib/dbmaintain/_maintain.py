"""``opslib db maintain``: the runbook's weekly ``ANALYZE`` of the platform tables and
``VACUUM (ANALYZE)`` of ``price_history``, planned then applied under a lock timeout.

Each statement runs on a connection of its own with ``lock_timeout`` set, so it never waits in
the lock queue (where the scrapers' writes would queue behind it): a lock not granted in time is
retried a few times, then the table is reported skipped. VACUUM runs with ``TRUNCATE false``:
the truncation at its end takes an ACCESS EXCLUSIVE lock, which writers would wait for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import psycopg
from psycopg import sql

from opslib.adapters import Database
from opslib.config import PlatformTables
from opslib.dbmaintain._stats import TableStats, read_stats
from opslib.errors import OpsError

__all__ = [
    "MaintainPolicy",
    "MaintainPlan",
    "MaintainResult",
    "MaintainStep",
    "apply_maintenance",
    "plan_maintenance",
]

Operation = Literal["analyze", "vacuum_analyze"]
StepState = Literal["planned", "fresh", "done", "skipped", "failed"]


@dataclass(frozen=True)
class MaintainPolicy:
    """When a table's statistics count as fresh, and how the statements wait for locks.

    Fresh: analysed within ``fresh_hours`` and fewer rows modified since than ``fresh_rows`` or
    ``fresh_share`` of its rows (and, for a VACUUM, fewer dead tuples than that).
    """

    fresh_hours: float = 24.0
    fresh_rows: int = 1000
    fresh_share: float = 0.02
    lock_timeout: float = 2.0
    attempts: int = 3
    retry_wait: float = 5.0
    statement_timeout: float = 6 * 3600.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    def fresh(self, stats: TableStats, operation: Operation) -> str:
        """Why ``stats`` need no ``operation`` now, or "" when they do."""
        age = stats.age_days(stats.analyzed)
        if age is None or age * 24 > self.fresh_hours:
            return ""
        limit = max(self.fresh_rows, self.fresh_share * stats.live)
        if stats.modified >= limit:
            return ""
        if operation == "vacuum_analyze" and stats.dead >= limit:
            return ""
        return (
            f"analysed {age * 24:.1f} h ago, {stats.modified} rows modified since"
            f" and {stats.dead} dead (fresh under {limit:.0f})"
        )


@dataclass(frozen=True)
class MaintainStep:
    """One statement for one table, and what became of it."""

    key: str
    table: str
    operation: Operation
    state: StepState
    reason: str = ""
    attempts: int = 0
    seconds: float = 0.0

    @property
    def statement(self) -> str:
        """The SQL as an operator would type it."""
        verb = (
            "VACUUM (ANALYZE, TRUNCATE false)"
            if self.operation == "vacuum_analyze"
            else ("ANALYZE")
        )
        return f"{verb} {self.table}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "operation": self.operation,
            "statement": self.statement,
            "state": self.state,
            "reason": self.reason,
            "attempts": self.attempts,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class MaintainPlan:
    """The steps to run, and the figures they were planned from."""

    steps: tuple[MaintainStep, ...]
    before: tuple[TableStats, ...]
    policy: MaintainPolicy

    @property
    def todo(self) -> tuple[MaintainStep, ...]:
        return tuple(s for s in self.steps if s.state == "planned")


@dataclass(frozen=True)
class MaintainResult:
    """The steps as run, with the figures before and after."""

    steps: tuple[MaintainStep, ...]
    before: tuple[TableStats, ...]
    after: tuple[TableStats, ...]

    @property
    def skipped(self) -> tuple[MaintainStep, ...]:
        """Steps given up because a lock was not granted in time."""
        return tuple(s for s in self.steps if s.state == "skipped")

    @property
    def failed(self) -> tuple[MaintainStep, ...]:
        return tuple(s for s in self.steps if s.state == "failed")


def _operation(key: str) -> Operation:
    return "vacuum_analyze" if key == "price_history" else "analyze"


def plan_maintenance(
    db: Database, tables: PlatformTables, policy: MaintainPolicy | None = None
) -> MaintainPlan:
    """What ``opslib db maintain`` would run: a step per configured table, planned, fresh (its
    statistics need nothing) or failed (absent, or not ours to maintain)."""
    policy = policy or MaintainPolicy()
    before = read_stats(db, tables)
    steps = []
    for stats in before:
        op = _operation(stats.key)
        if not stats.exists:
            state: StepState = "failed"
            reason = (
                f"table {stats.name} not found: create it, or set tables.{stats.key}.name"
                " to the platform's table"
            )
        elif not stats.can_maintain:
            state = "failed"
            reason = (
                f"no rights to {'VACUUM' if op == 'vacuum_analyze' else 'ANALYZE'} {stats.name}:"
                " only its owner, the database owner or a superuser may; run as one"
            )
        elif fresh := policy.fresh(stats, op):
            state, reason = "fresh", fresh
        else:
            state, reason = "planned", ""
        steps.append(MaintainStep(stats.key, stats.name, op, state, reason))
    return MaintainPlan(tuple(steps), before, policy)


def _statement(step: MaintainStep) -> sql.Composed:
    table = sql.Identifier(*step.table.split("."))
    if step.operation == "vacuum_analyze":
        return sql.SQL("VACUUM (ANALYZE, TRUNCATE false) {}").format(table)
    return sql.SQL("ANALYZE {}").format(table)


def _lock_timed_out(exc: OpsError) -> bool:
    return isinstance(exc.__cause__, psycopg.errors.LockNotAvailable)


def _run(worker: Database, step: MaintainStep, policy: MaintainPolicy) -> MaintainStep:
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        try:
            worker.execute(_statement(step))
        except OpsError as exc:
            if not _lock_timed_out(exc):
                return _settled(step, "failed", str(exc), attempt, started)
            if attempt >= policy.attempts:
                reason = (
                    f"lock not granted within {policy.lock_timeout:g} s in {attempt} attempts"
                    " (another session holds a conflicting lock): run it again later"
                )
                return _settled(step, "skipped", reason, attempt, started)
            policy.sleep(policy.retry_wait)
            continue
        return _settled(step, "done", "", attempt, started)


def _settled(
    step: MaintainStep, state: StepState, reason: str, attempts: int, started: float
) -> MaintainStep:
    return MaintainStep(
        step.key, step.table, step.operation, state, reason, attempts, time.monotonic() - started
    )


def apply_maintenance(db: Database, plan: MaintainPlan, tables: PlatformTables) -> MaintainResult:
    """Run the planned steps, each under the policy's lock timeout; read the figures after."""
    policy = plan.policy
    steps: list[MaintainStep] = []
    with db.open(
        statement_timeout=policy.statement_timeout, application_name="opslib-maintain"
    ) as worker:
        worker.execute(
            "SELECT set_config('lock_timeout', %s, false)",
            (f"{max(1, round(policy.lock_timeout * 1000))}ms",),
        )
        for step in plan.steps:
            steps.append(_run(worker, step, policy) if step.state == "planned" else step)
    return MaintainResult(tuple(steps), plan.before, read_stats(db, tables))
