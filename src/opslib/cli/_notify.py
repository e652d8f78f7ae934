"""``opslib notify``: the maintenance and completion notices (runbook:
``send_maintenance_notice``, ``send_completion_notice``)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo

import click

from opslib.audit import current_actor
from opslib.cli._context import AppContext, pass_app
from opslib.config import Settings
from opslib.errors import ConfigError, OpsError
from opslib.notify import (
    Notice,
    channel_target,
    channels_for,
    completion_notice,
    maintenance_notice,
    parse_time,
    parse_until,
    send_notice,
)

__all__ = ["notify"]


@click.group()
def notify() -> None:
    """Notices to the configured channels (webhooks, e-mail): scheduled maintenance and its
    completion. Exit 0 all sent, 1 some failed, 2 all failed or bad input, 3 none reached."""


def _zone(settings: Settings) -> tzinfo:
    return ZoneInfo(settings.notify.timezone)


def _who(app: AppContext) -> str:
    return app.settings.actor or current_actor()


def _platform(settings: Settings) -> str:
    return settings.platform_name or settings.compose_project


@notify.command("maintenance")
@click.option("--start", required=True, help="now, +30m, HH:MM (next) or ISO 8601; "
              "without a zone: notify.timezone.")  # fmt: skip
@click.option("--until", required=True, help="The expected end: a duration after --start "
              "(2h, 90m) or a time like --start.")  # fmt: skip
@click.option("--reason", required=True, help="What is done, in a few words.")
@click.option("--scope", multiple=True, help="What is affected (services, domains); "
              "repeatable. Default: the whole platform.")  # fmt: skip
@click.option("--contact", help="Whom to contact (default: notify.contact, else you).")
@click.option("--dry-run", is_flag=True, help="Show the notice and its channels, send nothing.")
@pass_app
def maintenance_cmd(
    app: AppContext,
    *,
    start: str,
    until: str,
    reason: str,
    scope: tuple[str, ...],
    contact: str | None,
    dry_run: bool,
) -> None:
    """Announce a maintenance window: what, when, how long, whom to contact."""
    settings = app.settings
    zone, now = _zone(settings), datetime.now(UTC)
    begins = parse_time(start, zone, now)
    notice = maintenance_notice(
        start=begins,
        until=parse_until(until, begins, zone, now),
        reason=reason,
        scope=scope,
        contact=contact or settings.notify.contact or _who(app),
        platform=_platform(settings),
        announced_by=_who(app),
        zone=zone,
    )
    arguments = {"start": start, "until": until, "reason": reason, "scope": list(scope)}
    _deliver(app, notice, arguments, dry_run=dry_run)


@notify.command("completion")
@click.option("--outcome", type=click.Choice(["ok", "failed"]), required=True,
              help="How the maintenance ended.")  # fmt: skip
@click.option("--summary", required=True, help="What was done.")
@click.option("--started", help="When the maintenance began (for the duration); like "
              "maintenance --start.")  # fmt: skip
@click.option("--contact", help="Whom to contact (default: notify.contact, else you).")
@click.option("--dry-run", is_flag=True, help="Show the notice and its channels, send nothing.")
@pass_app
def completion_cmd(
    app: AppContext,
    *,
    outcome: Literal["ok", "failed"],
    summary: str,
    started: str | None,
    contact: str | None,
    dry_run: bool,
) -> None:
    """Announce that maintenance is over: what was done, how long it took, the outcome."""
    settings = app.settings
    zone, now = _zone(settings), datetime.now(UTC)
    notice = completion_notice(
        outcome=outcome,
        summary=summary,
        started=parse_time(started, zone, now) if started else None,
        ended=now,
        contact=contact or settings.notify.contact or _who(app),
        platform=_platform(settings),
        announced_by=_who(app),
        zone=zone,
    )
    arguments = {"outcome": outcome, "summary": summary, "started": started}
    _deliver(app, notice, arguments, dry_run=dry_run)


def _deliver(app: AppContext, notice: Notice, arguments: dict[str, Any], *, dry_run: bool) -> None:
    """Send (or with ``dry_run`` show) ``notice``; audit it; exit by the deliveries."""
    channels = channels_for(notice.kind, app.settings.notify)
    if not channels:
        raise ConfigError(
            f"no notification channel carries {notice.kind} notices"
            " (configure [[notify.channels]]; see the README's Notices)"
        )
    action = f"notify.{notice.kind}"
    names = [c.label for c in channels]
    payload: dict[str, Any] = {
        "kind": notice.kind,
        "dry_run": dry_run,
        "subject": notice.subject,
        "text": notice.plain(),
    }
    if dry_run:
        payload["channels"] = [
            {"channel": c.label, "type": c.type, "target": channel_target(c)} for c in channels
        ]
        would = f"would send to {', '.join(names)}"
        payload["audit"] = _audit(app, action, {**arguments, "channels": names}, dry_run=True,
                                  outcome="ok", detail=would)  # fmt: skip
        lines = [f"Subject: {notice.subject}", "", notice.plain().rstrip(), "", "would send to:"]
        lines += [f"  {c.label} ({c.type}, {channel_target(c)})" for c in channels]
        app.output.data(payload, "\n".join(lines))
        return
    report = send_notice(notice, app.settings.notify, channels=channels)
    payload["channels"] = [asdict(d) for d in report.deliveries]
    payload["audit"] = _audit(app, action, {**arguments, "channels": names}, dry_run=False,
                              outcome=report.outcome, detail=report.summary())  # fmt: skip
    app.output.table(
        ("channel", "type", "target", "status", "attempts", "reason"),
        [(d.channel, d.type, d.target, d.status, d.attempts, d.reason or "-")
         for d in report.deliveries],
        payload=payload,
    )  # fmt: skip
    if report.failed:
        app.output.info(f"{len(report.failed)} of {len(report.deliveries)} channel(s) failed")
    click.get_current_context().exit(report.exit_code)


def _audit(
    app: AppContext,
    action: str,
    arguments: dict[str, Any],
    *,
    dry_run: bool,
    outcome: str,
    detail: str,
) -> str:
    """Write the audit row; a notice is never held back because the audit log cannot be
    written (a notice about database maintenance must not depend on the database)."""
    try:
        app.audit.record(action, arguments, dry_run=dry_run, outcome=outcome, detail=detail)
    except OpsError as exc:
        app.output.info(f"opslib: warning: audit entry not written: {exc}")
        return f"not written: {exc}"
    return "written"
