"""``opslib maintenance``: turn maintenance mode on and off, and say whether it is stuck."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from opslib.audit import current_actor
from opslib.cli._context import AppContext, pass_app
from opslib.errors import OpsError
from opslib.maintenance import (
    MaintenanceMode,
    MaintenancePlan,
    MaintenanceScope,
    check_reason,
    judge_windows,
    parse_until,
)
from opslib.procedure import (
    Plan,
    ProcedureContext,
    RunReport,
    RunStore,
    abandon_run,
    describe_run,
    read_plan,
    run_procedure,
)
from opslib.results import Severity

__all__ = ["maintenance"]

_STATE = {Severity.OK: "off", Severity.WARNING: "on", Severity.CRITICAL: "stuck"}


def _mode(app: AppContext) -> MaintenanceMode:
    return MaintenanceMode(app.database, app.settings.maintenance)


@click.group()
def maintenance() -> None:
    """Maintenance mode: services covered by an open window take no new work."""


def _report(app: AppContext, action: str, plan: MaintenancePlan, *, dry_run: bool) -> None:
    text = f"{'would ' if dry_run and plan.changes else ''}{plan.describe()}"
    app.output.data({"dry_run": dry_run, "command": action, **plan.as_dict()}, text)


@maintenance.command("on")
@click.option("--reason", required=True, help="Why (shown to whoever finds the window open).")
@click.option("--until", help="Expected end: a duration (90m, 2h, 1h30m, 1d) or an ISO time;"
              " default now + maintenance.default_minutes.")  # fmt: skip
@click.option("--service", "services", multiple=True, help="Only this service (repeatable).")
@click.option("--domain", "domains", multiple=True, help="Only this shop domain (repeatable).")
@click.option("--dry-run", is_flag=True, help="Show the plan, change nothing.")
@pass_app
def on_cmd(
    app: AppContext,
    *,
    reason: str,
    until: str | None,
    services: tuple[str, ...],
    domains: tuple[str, ...],
    dry_run: bool,
) -> None:
    """Open a maintenance window (everything, or the given services and domains). Idempotent:
    a window already open for the same scope is kept; --until moves its expected end."""
    scope = MaintenanceScope.of(services, domains)
    text = check_reason(reason)
    settings = app.settings.maintenance
    end = parse_until(until, datetime.now(UTC), settings.max_hours) if until else None
    args = {"reason": text, "until": until, "services": list(services), "domains": list(domains)}
    mode = _mode(app)
    with app.audit.action("maintenance.on", args, dry_run=dry_run) as out:
        if dry_run:
            plan = mode.plan_enable(text, scope=scope, until=end)
        else:
            plan = mode.enable(text, scope=scope, until=end, actor=_actor(app))
        out.detail = plan.describe()
    _report(app, "on", plan, dry_run=dry_run)


@maintenance.command("off")
@click.option("--dry-run", is_flag=True, help="Show the plan, change nothing.")
@pass_app
def off_cmd(app: AppContext, dry_run: bool) -> None:
    """Close every open maintenance window. Idempotent: with none open it does nothing."""
    mode = _mode(app)
    with app.audit.action("maintenance.off", {}, dry_run=dry_run) as out:
        plan = mode.plan_disable() if dry_run else mode.disable(_actor(app))
        out.detail = plan.describe()
    _report(app, "off", plan, dry_run=dry_run)


@maintenance.command("status")
@pass_app
def status_cmd(app: AppContext) -> None:
    """The open windows; exit 0 off, 1 on, 2 stuck (past its expected end)."""
    status = _mode(app).status()
    result = judge_windows(status, app.settings)
    state = _STATE.get(result.severity, "unknown")
    rows = result.tables[0].rows if result.tables else ()
    if rows or app.output.as_json:
        app.output.table(
            ("scope", "state", "reason", "by", "since", "expected end"),
            rows,
            payload={
                "state": state,
                "message": result.message(),
                "windows": [w.as_dict(status.now) for w in status.windows],
            },
        )
    app.output.info(result.message())
    click.get_current_context().exit(int(result.severity))


def _actor(app: AppContext) -> str:
    return app.settings.actor or current_actor()


def _context_factory(
    app: AppContext, stack: ExitStack
) -> Any:  # Callable[[int, dict[str, Any], str], ProcedureContext]
    from opslib.connect import open_platform, open_prometheus
    from opslib.errors import ConfigError

    settings = app.settings
    try:
        services = stack.enter_context(open_platform(settings))
    except ConfigError:
        services = None  # the stop and start steps say what is missing
    prometheus = stack.enter_context(open_prometheus(settings))

    def make(run_id: int, facts: dict[str, Any], reason: str) -> ProcedureContext:
        return ProcedureContext(
            settings=settings,
            db=app.database,
            audit=app.audit,
            services=services,
            prometheus=prometheus,
            reason=reason,
            run_id=run_id,
            facts=facts,
        )

    return make


def _execute(app: AppContext, plan: Plan | None, *, dry_run: bool, resume: bool) -> None:
    if dry_run:
        assert plan is not None
        ctx = ProcedureContext(settings=app.settings, db=app.database, audit=app.audit,
                               reason=plan.reason)  # fmt: skip
        lines = plan.describe(ctx)
        try:
            action = "maintenance.run" if plan.kind == "scheduled" else "maintenance.emergency"
            detail = "; ".join(lines)
            app.audit.record(action, plan.as_dict(), dry_run=True, outcome="ok", detail=detail)
        except OpsError as exc:
            app.output.info(f"opslib: warning: audit entry not written: {exc}")
        app.output.data({"dry_run": True, **plan.as_dict(), "plan": lines},
                        "\n".join([f"{plan.kind} maintenance: {plan.reason}", *lines]))  # fmt: skip
        return
    with ExitStack() as stack:
        report = run_procedure(
            app.database,
            plan,
            _context_factory(app, stack),
            audit=app.audit,
            resume=resume,
            say=app.output.info,
        )
    _report_run(app, report)


def _report_run(app: AppContext, report: RunReport) -> None:
    app.output.table(
        ("step", "state", "detail"),
        report.steps,
        payload={
            "run": report.run_id,
            "resumed": report.resumed,
            "seconds": round(report.seconds, 1),
            "steps": [{"step": s, "state": st, "detail": d} for s, st, d in report.steps],
        },
    )
    app.output.info(f"run {report.run_id} completed in {report.seconds:.0f} s")


def _status(app: AppContext) -> None:
    store = RunStore(app.database)
    run = store.latest()
    app.output.data(
        {"run": run.as_dict() if run else None, "maintenance": _mode(app).status().state},
        describe_run(run, _mode(app)),
    )
    code = 0
    if run is not None and run.unfinished:
        code = 1 if run.state == "running" and run.alive else 2
    click.get_current_context().exit(code)


@maintenance.command("run")
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML plan: which steps, their options (default: every step, runbook order).",
)
@click.option("--reason", help="Why (in the notices and the window); default the plan's.")
@click.option("--dry-run", is_flag=True, help="Print the plan, change nothing.")
@click.option("--resume", is_flag=True, help="Continue the failed or killed run where it stopped.")
@click.option(
    "--status",
    "show_status",
    is_flag=True,
    help="Describe the last run (exit 0 none unfinished, 1 running, 2 failed or killed).",
)
@click.option("--abandon", is_flag=True, help="Give up the failed or killed run.")
@pass_app
def run_cmd(
    app: AppContext,
    *,
    plan_file: Path | None,
    reason: str | None,
    dry_run: bool,
    resume: bool,
    show_status: bool,
    abandon: bool,
) -> None:
    """The scheduled maintenance procedure: notice, backup, maintenance on, stop, pull,
    migrate, update configs, start, verify health and data flow, maintenance off, completion
    notice. One run at a time; a failed or killed run continues with --resume."""
    if show_status:
        _status(app)
        return
    if abandon:
        run = abandon_run(app.database, app.audit)
        state = _mode(app).status().state
        text = f"run {run.id} abandoned at step {run.current_step}; maintenance mode: {state}"
        app.output.data({"abandoned": run.id}, text)
        return
    plan = None
    if not resume:
        plan = read_plan(plan_file, reason=reason) if plan_file else Plan(
            reason=check_reason(reason) if reason else "scheduled maintenance")  # fmt: skip
    _execute(app, plan, dry_run=dry_run, resume=resume)


@maintenance.command("emergency")
@click.option("--fix-sql", type=click.Path(dir_okay=False, path_type=Path),
              help="SQL file applied in one transaction.")  # fmt: skip
@click.option("--fix-command", help="Command run as the fix (split like a shell, no shell).")
@click.option("--reason", default="emergency maintenance", help="Why.")
@click.option("--monitor-seconds", type=float, default=0.0,
              help="Re-check health this long after restoring (0: say how to watch).")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Print the plan, change nothing.")
@click.option("--resume", is_flag=True, help="Continue the failed or killed run.")
@pass_app
def emergency_cmd(
    app: AppContext,
    *,
    fix_sql: Path | None,
    fix_command: str | None,
    reason: str,
    monitor_seconds: float,
    dry_run: bool,
    resume: bool,
) -> None:
    """Emergency maintenance: stop the scraper, emergency backup, apply the fix, start, verify
    health and data flow, then enhanced monitoring."""
    from opslib.errors import InputError
    from opslib.procedure import EMERGENCY_STEPS

    if fix_sql and fix_command:
        raise InputError("give --fix-sql or --fix-command, not both")
    if fix_sql is not None and not fix_sql.is_file():
        raise InputError(f"--fix-sql {fix_sql}: no such file")
    plan = None
    if not resume:
        fix: dict[str, Any] = {}
        if fix_sql is not None:
            fix["sql"] = str(fix_sql.resolve())
        if fix_command:
            fix["command"] = fix_command
        plan = Plan(
            kind="emergency",
            reason=check_reason(reason),
            steps=EMERGENCY_STEPS,
            options={
                "stop_services": {"services": [app.settings.scraper_service]},
                "start_services": {"services": [app.settings.scraper_service]},
                "backup": {"kind": "emergency"},
                "fix": fix,
                "verify_data_flow": {"release_maintenance": False},
                "monitor": {"seconds": monitor_seconds},
            },
        )
    _execute(app, plan, dry_run=dry_run, resume=resume)
