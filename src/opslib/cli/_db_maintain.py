"""``opslib db maintain``: the weekly ANALYZE and VACUUM (ANALYZE) of the platform tables;
``opslib db partition``: price_history partitioned by month, online."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import click

from opslib.cli._context import AppContext, pass_app
from opslib.dbmaintain import (
    MaintainPolicy,
    MaintainStep,
    TableStats,
    apply_maintenance,
    apply_partitioning,
    plan_maintenance,
    plan_partitioning,
    stats_table,
)
from opslib.errors import UnsafeActionError

__all__ = ["COMMANDS"]


def _step_line(step: MaintainStep, dry_run: bool) -> str:
    if step.state == "planned":
        return f"  would run {step.statement}" if dry_run else f"  {step.statement}"
    if step.state == "done":
        return f"  {step.statement}: done in {step.seconds:.1f} s"
    return f"  {step.statement}: {step.state}: {step.reason}"


def _lock_timeout(text: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.option(
        "--lock-timeout",
        type=click.FloatRange(0.1, 60),
        default=2.0,
        show_default=True,
        help=text,
    )


@click.command("maintain")
@click.option("--dry-run", is_flag=True, help="Show what would be run, run nothing.")
@_lock_timeout("Seconds a statement waits for its lock before giving up.")
@click.option(
    "--attempts",
    type=click.IntRange(1, 20),
    default=3,
    show_default=True,
    help="Tries per table when its lock is not granted.",
)
@click.option(
    "--fresh-hours",
    type=click.FloatRange(0, 24 * 31),
    default=24.0,
    show_default=True,
    help="Statistics younger than this (and few rows modified"
    " since) are fresh: the table is skipped. 0: run every table.",
)
@pass_app
def maintain_cmd(
    app: AppContext, dry_run: bool, lock_timeout: float, attempts: int, fresh_hours: float
) -> None:
    """ANALYZE monitored_urls and scrape_logs, VACUUM (ANALYZE) price_history (the configured
    tables), each under a lock timeout so the scrapers' writes never wait behind it; tables
    with fresh statistics are skipped. Exit 1 when a table was skipped for its lock, 3 when
    one could not be maintained (absent, no rights)."""
    policy = MaintainPolicy(fresh_hours=fresh_hours, lock_timeout=lock_timeout, attempts=attempts)
    args = {"lock_timeout": lock_timeout, "attempts": attempts, "fresh_hours": fresh_hours}
    tables = app.settings.tables
    with app.audit.action("db.maintain", args, dry_run=dry_run) as outcome:
        plan = plan_maintenance(app.database, tables, policy)
        if dry_run:
            steps, after = plan.steps, tuple[TableStats, ...]()
        else:
            result = apply_maintenance(app.database, plan, tables)
            steps, after = result.steps, result.after
        counts: dict[str, int] = {}
        for step in steps:
            counts[step.state] = counts.get(step.state, 0) + 1
        outcome.detail = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    payload: dict[str, Any] = {
        "dry_run": dry_run,
        "steps": [s.as_dict() for s in steps],
        "before": [s.as_dict() for s in plan.before],
        "after": [s.as_dict() for s in after],
    }
    if app.output.as_json:
        app.output.data(payload)
    else:
        app.output.info("before:")
        before = stats_table(plan.before)
        app.output.table(before.columns, before.rows)
        app.output.info("would run:" if dry_run else "ran:")
        for step in steps:
            app.output.info(_step_line(step, dry_run))
        if after:
            app.output.info("after:")
            figures = stats_table(after)
            app.output.table(figures.columns, figures.rows)
    states = {s.state for s in steps}
    click.get_current_context().exit(3 if "failed" in states else 1 if "skipped" in states else 0)


@click.command("partition")
@click.option(
    "--dry-run", is_flag=True, help="Show the partitions, indexes and steps; change nothing."
)
@click.option(
    "--batch-rows",
    type=click.IntRange(100, 10_000_000),
    default=50_000,
    show_default=True,
    help="Ids copied per statement while the scrapers keep writing.",
)
@_lock_timeout("Seconds the name swap waits for its lock before trying again.")
@pass_app
def partition_cmd(app: AppContext, dry_run: bool, batch_rows: int, lock_timeout: float) -> None:
    """Partition price_history by month of checked_at, online: a partitioned copy filled in
    batches while writes go on, then the names swapped in one short transaction; the old table
    is kept as <name>_unpartitioned. Refused when it is already partitioned."""
    args = {"batch_rows": batch_rows, "lock_timeout": lock_timeout}
    with app.audit.action("db.partition", args, dry_run=dry_run) as outcome:
        plan = replace(
            plan_partitioning(app.database, app.settings.tables),
            batch_rows=batch_rows,
            lock_timeout=lock_timeout,
        )
        if plan.refused:
            raise UnsafeActionError(f"db partition refused: {plan.refused}")
        if dry_run:
            outcome.detail = f"would partition {plan.table} into {len(plan.partitions)} partitions"
            app.output.data({"dry_run": True, **plan.as_dict()}, "\n".join(plan.lines()))
            return
        with app.database.open(application_name="opslib-partition") as worker:
            done = apply_partitioning(worker, plan)
        outcome.detail = (
            f"partitioned {plan.table}: {done.copied} rows copied, {done.caught_up} in the swap"
            f" ({done.swap_seconds:.2f} s under the lock), old table {plan.old_name}"
        )
    app.output.data(
        {
            "dry_run": False,
            **plan.as_dict(),
            "copied": done.copied,
            "caught_up": done.caught_up,
            "swap_attempts": done.attempts,
            "seconds": round(done.seconds, 3),
            "swap_seconds": round(done.swap_seconds, 3),
        },
        outcome.detail + f"; drop it when satisfied: DROP TABLE {plan.old_name}",
    )


COMMANDS = (maintain_cmd, partition_cmd)
