"""``opslib maintenance``: turn maintenance mode on and off, and say whether it is stuck."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from opslib.audit import current_actor
from opslib.cli._context import AppContext, pass_app
from opslib.maintenance import (
    MaintenanceMode,
    MaintenancePlan,
    MaintenanceScope,
    check_reason,
    judge_windows,
    parse_until,
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
