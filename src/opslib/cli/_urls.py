"""``opslib urls``: pause and resume monitored URLs, lengthen or restore their intervals."""

from __future__ import annotations

import click

from opslib.audit import current_actor
from opslib.cli._context import AppContext, pass_app
from opslib.domains import parse_duration
from opslib.errors import InputError
from opslib.urls import IntervalPlan, PausePlan, ResumePlan, UrlControls, select_urls

__all__ = ["urls"]


def _controls(app: AppContext) -> UrlControls:
    settings = app.settings
    controls = UrlControls(
        app.database,
        settings.urls,
        settings.tables,
        default_interval_seconds=settings.quality.default_interval_minutes * 60,
    )
    expired = controls.resume_expired()
    if expired.changes:
        app.output.info(f"first: {expired.describe()} (their pause ended)")
    return controls


def _actor(app: AppContext) -> str:
    return app.settings.actor or current_actor()


def _report(app: AppContext, plan: PausePlan | ResumePlan | IntervalPlan, dry_run: bool) -> None:
    text = f"{'would ' if dry_run and plan.changes else ''}{plan.describe()}"
    app.output.data({"dry_run": dry_run, **plan.as_dict()}, text)


@click.group()
def urls() -> None:
    """Monitored URLs under load: pause by priority or domain, lengthen intervals."""


@urls.command("pause")
@click.option("--priority", help="A name of urls.priorities (low), a value or a range (8-10).")
@click.option("--domain", help="Only this shop domain.")
@click.option("--for", "length", help="How long: 30m, 2h, 1d (default urls.default_pause_hours).")
@click.option("--reason", default="", help="Why (shown by opslib urls status).")
@click.option("--force", is_flag=True, help="Pause even when that is every active URL.")
@click.option("--dry-run", is_flag=True, help="Show the plan and the load removed, change nothing.")
@pass_app
def pause_cmd(
    app: AppContext,
    *,
    priority: str | None,
    domain: str | None,
    length: str | None,
    reason: str,
    force: bool,
    dry_run: bool,
) -> None:
    """Stop scheduling the matching URLs until resumed (automatically after --for)."""
    settings = app.settings.urls
    selection = select_urls(settings, priority, domain)
    span = (
        parse_duration(length, max_hours=settings.max_pause_hours) if length is not None else None
    )
    args = {"priority": priority, "domain": domain, "for": length, "reason": reason,
            "force": force}  # fmt: skip
    controls = _controls(app)
    plan = controls.plan_pause(selection, span, reason)
    app.output.info(plan.describe())  # the load removed, before acting
    with app.audit.action("urls.pause", args, dry_run=dry_run) as out:
        if dry_run:
            plan.check(force=force)
        else:
            plan = controls.pause(
                selection, span, reason=reason or "paused by hand", actor=_actor(app), force=force
            )
        out.detail = plan.describe()
    _report(app, plan, dry_run)


@urls.command("resume")
@click.option("--expired", is_flag=True, help="Only the pauses past their time (for a timer).")
@click.option("--dry-run", is_flag=True, help="Show the plan, change nothing.")
@pass_app
def resume_cmd(app: AppContext, *, expired: bool, dry_run: bool) -> None:
    """Schedule again every URL opslib paused (only those: a URL deactivated otherwise stays)."""
    controls = _controls(app)
    with app.audit.action("urls.resume", {"expired": expired}, dry_run=dry_run) as out:
        if dry_run:
            plan = controls.plan_resume(expired_only=expired)
        else:
            plan = controls.resume(expired_only=expired)
        out.detail = plan.describe()
    _report(app, plan, dry_run)


@urls.command("interval")
@click.option("--priority", help="A name of urls.priorities (low), a value or a range (8-10).")
@click.option("--domain", help="Only this shop domain.")
@click.option("--factor", type=float, help="Multiply the intervals (2: half the requests).")
@click.option("--restore", is_flag=True, help="Put back the intervals recorded before.")
@click.option("--dry-run", is_flag=True, help="Show the plan and the load removed, change nothing.")
@pass_app
def interval_cmd(
    app: AppContext,
    *,
    priority: str | None,
    domain: str | None,
    factor: float | None,
    restore: bool,
    dry_run: bool,
) -> None:
    """Lengthen (or shorten, or restore) check_interval of the matching URLs, within
    urls.interval_floor_seconds and urls.interval_ceiling_seconds."""
    if restore == (factor is not None):
        raise InputError("give --factor N or --restore")
    selection = select_urls(app.settings.urls, priority, domain)
    args = {"priority": priority, "domain": domain, "factor": factor, "restore": restore}
    controls = _controls(app)
    plan = controls.plan_interval(selection, factor)
    app.output.info(plan.describe())  # the load removed, before acting
    with app.audit.action("urls.interval", args, dry_run=dry_run) as out:
        if not dry_run:
            plan = controls.interval(selection, factor, actor=_actor(app))
        out.detail = plan.describe()
    _report(app, plan, dry_run)


@urls.command("status")
@pass_app
def status_cmd(app: AppContext) -> None:
    """The active URLs and their load, what opslib holds paused and until when."""
    controls = _controls(app)
    load = controls.load()
    paused = controls.paused()
    app.output.info(f"active: {load.describe()}; paused by opslib: {len(paused)}")
    groups: dict[tuple[str, str, str, str], int] = {}
    for row in paused:
        key = (row["selection"], row["actor"], row["reason"], f"{row['until']:%Y-%m-%d %H:%M:%S}")
        groups[key] = groups.get(key, 0) + 1
    app.output.table(
        ("selection", "by", "reason", "until", "URLs"),
        [(*key, n) for key, n in groups.items()],
        payload={
            "active": load.as_dict(),
            "paused": [
                {"selection": k[0], "actor": k[1], "reason": k[2], "until": k[3], "urls": n}
                for k, n in groups.items()
            ],
        },
    )
