"""``opslib db activity | cancel | terminate | slow-queries``: the database under load."""

from __future__ import annotations

from typing import Any

import click

from opslib.cli._context import AppContext, pass_app
from opslib.dbactivity import (
    Activity,
    Session,
    SignalAction,
    apply_index,
    apply_signal,
    blocked_sessions,
    connection_usage,
    long_queries,
    plan_signal,
    read_activity,
    slow_query_report,
)
from opslib.errors import UnsafeActionError
from opslib.results import worst

__all__ = ["COMMANDS"]

_SESSION_COLUMNS = ("pid", "user", "application", "state", "wait", "query s", "xact s",
                    "blocked by", "query")  # fmt: skip


def _age(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _flat(text: str, width: int = 70) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _row(s: Session, activity: Activity) -> tuple[str, ...]:
    pid = f"{s.pid}*" if s.pid == activity.own_pid else str(s.pid)
    return (pid, s.user or "", s.application, s.state, s.wait, _age(s.query_seconds),
            _age(s.xact_seconds), ",".join(map(str, s.blocked_by)), _flat(s.query))  # fmt: skip


@click.command("activity")
@click.option("--all", "show_all", is_flag=True, help="Also idle and background sessions.")
@pass_app
def activity_cmd(app: AppContext, show_all: bool) -> None:
    """Sessions (active, idle in transaction, waiting) with ages, waits and the blocking tree;
    connections against max_connections. Exit status by the worst finding."""
    activity = read_activity(app.database)
    settings = app.settings
    results = [
        connection_usage(app.database, settings, activity),
        long_queries(app.database, settings, activity),
        blocked_sessions(app.database, settings, activity),
    ]
    severity = worst(r.severity for r in results)
    shown = [
        s
        for s in activity.sessions
        if show_all or (s.client_backend and (s.state not in ("idle", "") or s.waiting))
    ]
    shown.sort(key=lambda s: -(s.xact_seconds or s.query_seconds or 0))
    tree = [{"depth": d, "pid": s.pid, "state": s.state} for d, s in activity.tree()]
    payload: dict[str, Any] = {
        "severity": severity.name,
        "connections": {
            "used": len(activity.clients),
            "max_connections": activity.max_connections,
            "share": round(activity.connections_used, 3),
        },
        "own_pid": activity.own_pid,
        "sessions": [s.as_dict() for s in shown],
        "blocking_tree": tree,
        "checks": [{"severity": r.severity.name, "message": r.message()} for r in results],
    }
    if app.output.as_json:
        app.output.data(payload)
    else:
        app.output.info(
            f"connections: {len(activity.clients)} of {activity.max_connections}"
            f" ({activity.connections_used:.0%}); * = this session"
        )
        app.output.table(_SESSION_COLUMNS, [_row(s, activity) for s in shown])
        if tree:
            app.output.info("blocking tree:")
            for depth, s in activity.tree():
                waits = f", waits {s.query_seconds:.0f} s" if s.waiting and s.query_seconds else ""
                blocks = activity.blocked_count(s.pid)
                app.output.info(
                    f"  {'  ' * depth}{s.pid} {s.user or ''} ({s.state}{waits}"
                    f"{f', blocks {blocks}' if blocks else ''}): {_flat(s.query, 60)}"
                )
        for r in results:
            app.output.info(r.message())
    click.get_current_context().exit(int(severity))


def _signal(app: AppContext, action: SignalAction, pid: int, force: bool, dry_run: bool) -> None:
    args = {"pid": pid, "force": force}
    try:
        with app.audit.action(f"db.{action}", args, dry_run=dry_run) as outcome:
            plan = plan_signal(app.database, pid, action, force=force)
            if dry_run:
                text = f"would {plan.describe()}"
                payload: dict[str, Any] = {"dry_run": True, **plan.as_dict()}
            else:
                result = apply_signal(app.database, plan)
                text = result.describe()
                if plan.note:
                    text += f" ({plan.note})"
                payload = {"dry_run": False, **plan.as_dict(), "signalled": result.signalled,
                           "gone": result.gone}  # fmt: skip
            outcome.detail = text
    except UnsafeActionError as exc:  # a refusal is bad input for this command: exit 2
        app.output.error(str(exc))
        click.get_current_context().exit(2)
    app.output.data(payload, text)


_PID = click.argument("pid", type=click.IntRange(min=1))
_FORCE = click.option("--force", is_flag=True, help="Also a superuser's session.")
_DRY_RUN = click.option("--dry-run", is_flag=True, help="Show what would be done, do nothing.")


@click.command("cancel")
@_PID
@_FORCE
@_DRY_RUN
@pass_app
def cancel_cmd(app: AppContext, pid: int, force: bool, dry_run: bool) -> None:
    """Cancel the query session PID runs (pg_cancel_backend); its session stays. Refuses
    opslib's own session, server processes and (without --force) superuser sessions."""
    _signal(app, "cancel", pid, force, dry_run)


@click.command("terminate")
@_PID
@_FORCE
@_DRY_RUN
@pass_app
def terminate_cmd(app: AppContext, pid: int, force: bool, dry_run: bool) -> None:
    """End session PID (pg_terminate_backend), rolling its transaction back. Refuses opslib's
    own session, server processes and (without --force) superuser sessions."""
    _signal(app, "terminate", pid, force, dry_run)


@click.command("slow-queries")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 1000),
              help="Statements shown by total and by mean time.")  # fmt: skip
@click.option("--explain", default=3, show_default=True, type=click.IntRange(0, 50),
              help="Plans of this many of the worst by mean time.")  # fmt: skip
@click.option("--min-rows", default=10_000, show_default=True, type=click.IntRange(0),
              help="Rows from which a table is large (its seq scans matter).")  # fmt: skip
@click.option("--apply", is_flag=True, help="Create the missing indexes (CONCURRENTLY).")
@click.option("--dry-run", is_flag=True, help="With --apply: show the statements, run nothing.")
@click.option("--timeout", default=3600.0, show_default=True, type=click.FloatRange(1),
              help="Seconds an index build may take before it is stopped.")  # fmt: skip
@pass_app
def slow_queries_cmd(
    app: AppContext,
    *,
    limit: int,
    explain: int,
    min_rows: int,
    apply: bool,
    dry_run: bool,
    timeout: float,
) -> None:
    """Top statements by total and mean time (pg_stat_statements), plans of the worst
    (EXPLAIN, never executed; parameters as $n) and index advice. Advice is shown; --apply
    creates the missing indexes. Exit status by the verdict."""
    report = slow_query_report(
        app.database, app.settings, limit=limit, explain=explain, min_rows=min_rows
    )
    payload = report.as_dict()
    lines: list[str] = []
    if apply:
        done = []
        for advice in (a for a in report.advice if a.applicable):
            args = {"table": advice.table, "columns": list(advice.columns), "index": advice.index}
            with app.audit.action("db.create_index", args, dry_run=dry_run) as outcome:
                if dry_run:
                    outcome.detail = f"would run: {advice.statement}"
                else:
                    outcome.detail = apply_index(app.database, advice, timeout=timeout)
            done.append(outcome.detail)
        payload["applied"] = done
        payload["dry_run"] = dry_run
        lines = done or ["no missing index to create"]
        if done and not dry_run:
            report = slow_query_report(app.database, app.settings, limit=limit, explain=0,
                                       min_rows=min_rows)  # fmt: skip
            payload["severity_after"] = report.result.severity.name
    if app.output.as_json:
        app.output.data(payload)
    else:
        _show_report(app, payload)
        for line in lines:
            app.output.info(line)
        app.output.info(report.result.message())
    click.get_current_context().exit(int(report.result.severity))


def _show_report(app: AppContext, payload: dict[str, Any]) -> None:
    columns = ("queryid", "calls", "total ms", "mean ms", "rows", "statement")
    for key, title in (("by_total", "by total time"), ("by_mean", "by mean time")):
        if payload[key]:
            app.output.info(f"statements {title}:")
            app.output.table(
                columns,
                [
                    (
                        s["queryid"],
                        s["calls"],
                        f"{s['total_ms']:.1f}",
                        f"{s['mean_ms']:.2f}",
                        s["rows"],
                        _flat(s["query"]),
                    )
                    for s in payload[key]
                ],
            )
    for plan in payload["plans"]:
        app.output.info(f"plan of {plan['queryid']} ({_flat(plan['query'], 60)}):")
        text = plan["plan"] or f"(none: {plan['reason']})"
        app.output.info("\n".join(f"  {line}" for line in text.splitlines()))
    if payload["advice"]:
        app.output.info("index advice:")
        for a in payload["advice"]:
            statement = f"\n    {a['statement']}" if a["statement"] else ""
            app.output.info(f"  {a['kind']}: {a['table']}: {a['detail']}{statement}")


COMMANDS = (activity_cmd, cancel_cmd, terminate_cmd, slow_queries_cmd)
"""The subcommands this module adds to ``opslib db``."""
