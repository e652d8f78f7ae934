"""Running a procedure: one at a time, every step recorded and audited, resumable.

Test hook: ``OPSLIBTEST_PROCEDURE_PAUSE_AT=<step>`` (or ``<step>:before``) makes the run stop
after that step's work is done and before it is recorded as done (or before it starts), print
``paused at <step>`` on stderr and sleep until killed: the reliability tests kill it there.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC
from typing import Any

from opslib.adapters import Database
from opslib.audit import AuditLog, current_actor
from opslib.errors import InputError, OpsError, UnsafeActionError
from opslib.maintenance import MaintenanceMode
from opslib.procedure._plan import Plan
from opslib.procedure._runs import ProcedureRun, RunLock, RunStore
from opslib.procedure._step import ProcedureContext, Skip
from opslib.redact import redact

__all__ = ["PAUSE_ENV", "RunReport", "StepFailed", "abandon_run", "describe_run", "run_procedure"]

PAUSE_ENV = "OPSLIBTEST_PROCEDURE_PAUSE_AT"  # not OPSLIB_*: those must name settings
"""The test hook's environment variable (see the module docstring)."""


class StepFailed(OpsError):
    """A step failed: the run stopped, its state recorded; the message says what to do."""

    exit_code = 2

    def __init__(self, run_id: int, step: str, reason: str) -> None:
        super().__init__(
            f"maintenance run {run_id} stopped at step {step}: {reason}. Fix the cause and run"
            " `opslib maintenance run --resume` (it continues at this step), or give up with"
            " `opslib maintenance run --abandon` and `opslib maintenance off`"
        )
        self.run_id, self.step, self.reason = run_id, step, reason


@dataclass(frozen=True)
class RunReport:
    """How a run ended: its id, and each step's state and detail, in order."""

    run_id: int
    steps: tuple[tuple[str, str, str], ...]
    seconds: float
    resumed: bool


def _pause(name: str, where: str) -> None:
    wanted = os.environ.get(PAUSE_ENV, "")
    step, _, at = wanted.partition(":")
    if step == name and (at or "after") == where:
        sys.stderr.write(f"opslib: test hook: paused at {name} ({where})\n")
        sys.stderr.flush()
        while True:
            time.sleep(3600)


def _holder(store: RunStore) -> str:
    run = store.unfinished()
    if run is None:
        return "another maintenance procedure is starting"
    return (
        f"maintenance run {run.id} ({run.kind}) is in progress: by {run.actor}, pid {run.pid} on"
        f" {run.host}, at step {run.current_step or '-'} since {run.updated_at:%H:%M:%S %Z}"
    )


def run_procedure(
    db: Database,
    plan: Plan | None,
    make_context: Callable[[int, dict[str, Any], str], ProcedureContext],
    *,
    audit: AuditLog,
    resume: bool = False,
    say: Callable[[str], None] = lambda _line: None,
) -> RunReport:
    """Run ``plan`` (or, with ``resume``, continue the unfinished run from its first step not
    done). Refused (UnsafeActionError) while another run holds the lock or, without
    ``resume``, while an unfinished run exists. Raises :class:`StepFailed` when a step fails.
    ``make_context(run_id, facts, reason)`` builds the steps' context."""
    started = time.monotonic()
    lock = RunLock(db.open(application_name="opslib-procedure-lock"))
    try:
        if not lock.acquire():
            raise UnsafeActionError(f"refused: {_holder(RunStore(db))}")
        store = RunStore(db)
        unfinished = store.unfinished()
        if resume:
            if unfinished is None:
                raise InputError("no unfinished maintenance run to resume")
            plan = Plan.from_dict(unfinished.plan)
            run = store.take_over(unfinished.id)
            say(f"resuming run {run.id} at step {_first_open(run) or '-'}")
        else:
            if unfinished is not None:
                head = describe_run(replace(unfinished, alive=False), None).splitlines()[0]
                raise UnsafeActionError(
                    f"refused: {head}; continue it with --resume, or --abandon it first"
                )
            if plan is None:
                raise InputError("no plan given")
            run = store.create(plan.kind, plan.as_dict(), current_actor())
            say(f"run {run.id}: {len(plan.steps)} step(s)")
        facts: dict[str, Any] = dict(run.facts)
        facts.setdefault("started_at", run.started_at.isoformat())
        ctx = make_context(run.id, facts, plan.reason)
        ctx.facts = facts
        ctx.save = lambda: store.save_facts(run.id, facts)
        ctx.say = say
        rows = _steps(ctx, plan, run, store, audit, say)
        store.finish(run.id, "completed", "all steps done")
        audit.record("maintenance.run", {"run": run.id, "resumed": resume}, dry_run=False,
                     outcome="ok", detail=f"run {run.id} completed")  # fmt: skip
        return RunReport(run.id, tuple(rows), time.monotonic() - started, resume)
    finally:
        lock.release()
        lock.db.close()


def _first_open(run: ProcedureRun) -> str | None:
    return next((n for n in run.step_names if run.step(n).state not in ("done", "skipped")), None)


def _steps(  # noqa: PLR0917 - the run's parts, private
    ctx: ProcedureContext,
    plan: Plan,
    run: ProcedureRun,
    store: RunStore,
    audit: AuditLog,
    say: Callable[[str], None],
) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    done: list[str] = list(ctx.facts.get("done", []))
    for step in plan.procedure():
        record = run.step(step.name)
        if record.state in ("done", "skipped"):
            rows.append((step.name, record.state, record.detail))
            continue
        say(f"{step.name}: {step.plan(ctx)}")
        store.step(run.id, step.name, "running", "", ctx.facts)
        _audit(audit, f"maintenance.run.{step.name}", {"run": run.id, "step": step.name},
               "started", step.plan(ctx), say)  # fmt: skip
        _pause(step.name, "before")
        arguments = {"run": run.id, "step": step.name}
        try:
            try:
                detail = step.run(ctx)
            except Skip as skip:
                state, detail = "skipped", str(skip)
            else:
                _pause(step.name, "after")
                state = "done"
                detail = f"{detail}; verified: {step.verify(ctx)}"
        except OpsError as exc:
            reason = redact(str(exc))
            store.step(run.id, step.name, "failed", reason, ctx.facts)
            failed = StepFailed(run.id, step.name, reason)
            store.finish(run.id, "failed", str(failed))
            _audit(audit, f"maintenance.run.{step.name}", arguments, "failed", reason, say)
            raise failed from exc
        if state == "done":
            done.append(step.name)
            ctx.facts["done"] = done
        store.step(run.id, step.name, state, detail, ctx.facts)  # type: ignore[arg-type]
        _audit(audit, f"maintenance.run.{step.name}", {**arguments, "state": state}, "ok",
               detail, say)  # fmt: skip
        say(f"  {state}: {detail}")
        rows.append((step.name, state, detail))
    return rows


def _audit(  # noqa: PLR0917 - one audit row
    audit: AuditLog,
    action: str,
    arguments: dict[str, Any],
    outcome: str,
    detail: str,
    say: Callable[[str], None],
) -> None:
    try:
        audit.record(action, arguments, dry_run=False, outcome=outcome, detail=detail)
    except OpsError as exc:  # the run's state is in procedure_runs; the audit row is a copy
        say(f"  warning: audit entry for {action} not written: {exc}")


def abandon_run(db: Database, audit: AuditLog) -> ProcedureRun:
    """Mark the unfinished run abandoned (after a failed or killed run the operator gives up
    on); refused while its process still runs."""
    store = RunStore(db)
    run = store.unfinished()
    if run is None:
        raise InputError("no unfinished maintenance run to abandon")
    if run.state == "running" and run.alive:
        raise UnsafeActionError(f"refused: {_holder(store)}")
    store.finish(run.id, "abandoned", f"abandoned by {current_actor()}")
    audit.record("maintenance.run.abandon", {"run": run.id}, dry_run=False, outcome="ok",
                 detail=f"run {run.id} abandoned at step {run.current_step}")  # fmt: skip
    return run


def describe_run(run: ProcedureRun | None, mode: MaintenanceMode | None) -> str:
    """What the run is, truly: running, completed, failed at a step, or killed during one;
    the steps done; maintenance mode as the database has it; what to do."""
    if run is None:
        return "no maintenance run recorded"
    at = run.current_step or "-"
    since = f"{run.updated_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
    if run.killed:
        head = (
            f"run {run.id} ({run.kind}, by {run.actor}) was killed during step {at}: marked"
            f" running since {since}, but no process holds it (pid {run.pid} on {run.host})"
        )
    elif run.state == "running":
        head = f"run {run.id} ({run.kind}, by {run.actor}) is running: step {at} (pid {run.pid})"
    elif run.state == "failed":
        head = f"run {run.id} ({run.kind}, by {run.actor}) failed at step {at}"
    else:
        ended = run.ended_at or run.updated_at
        head = f"run {run.id} ({run.kind}, by {run.actor}) {run.state} at {ended:%H:%M:%S %Z}"
    lines = [head]
    for name in run.step_names:
        record = run.step(name)
        lines.append(f"  {name}: {record.state}{f' - {record.detail}' if record.detail else ''}")
    if mode is not None:
        state = mode.status().state
        lines.append(f"maintenance mode is {state}")
    if run.unfinished and not (run.state == "running" and run.alive):
        lines.append(
            "next: `opslib maintenance run --resume` continues at step"
            f" {_first_open(run) or at}; or `opslib maintenance run --abandon` and"
            " `opslib maintenance off`"
        )
    return "\n".join(lines)
