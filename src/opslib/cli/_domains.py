"""``opslib domains``: every domain's state, cooldown, pause and resume, auto-cooldown."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from opslib.audit import AuditLog, current_actor
from opslib.cli._context import AppContext, pass_app
from opslib.domains import AUTO_ACTOR, DomainControls, DomainPlan, Strategy, parse_duration
from opslib.errors import InputError
from opslib.quality import PlatformSchema
from opslib.ratelimit import RateLimiter, check_domain

__all__ = ["domains"]


def _controls(app: AppContext) -> DomainControls:
    return DomainControls(app.database, app.settings.domain_controls)


def _actor(app: AppContext) -> str:
    return app.settings.actor or current_actor()


def _report(app: AppContext, plan: DomainPlan, *, dry_run: bool) -> None:
    text = f"{'would ' if dry_run and plan.changes else ''}{plan.describe()}"
    app.output.data({"dry_run": dry_run, **plan.as_dict()}, text)


@click.group()
def domains() -> None:
    """Per-domain controls: cooldown, pause, and every domain's state."""


@domains.command("list")
@pass_app
def list_cmd(app: AppContext) -> None:
    """Every domain (the platform's monitored_urls and any with opslib state): active, cooling
    down until, paused, its rate limit and strategy version."""
    controls = _controls(app)
    now = controls.now()
    states = {s.domain: s for s in controls.states()}
    limiter = RateLimiter(app.database, app.settings.ratelimit)
    limits = {lim.domain: lim for lim in limiter.limits()}
    versions = {v.domain: v.version for v in controls.active_versions()}
    names = set(states) | set(limits) | set(versions) | _platform_domains(app)
    rows, payload = [], []
    for name in sorted(names):
        state = states.get(name)
        limit = limits.get(name) or limiter.limit(name)
        described = state.describe(now) if state else "active"
        version = versions.get(name)
        rows.append((name, described, limit.describe(), version if version else "default"))
        payload.append(
            {
                **(state.as_dict(now) if state else {"domain": name, "state": "active"}),
                "rate_limit": limit.as_dict(now),
                "strategy_version": version,
            }
        )
    app.output.table(
        ("domain", "state", "rate limit", "strategy"), rows, payload={"domains": payload}
    )


def _platform_domains(app: AppContext) -> set[str]:
    schema = PlatformSchema.read(app.database, app.settings.tables)
    missing = schema.missing("monitored_urls", "domain")
    if missing:
        app.output.info(f"note: {missing}")
        return set()
    return _controls(app).monitored_domains(schema)


@domains.command("cooldown")
@click.argument("domain")
@click.option("--for", "length", help="How long: 30m, 2h, 1h30m, 1d (ends by itself).")
@click.option("--off", is_flag=True, help="End the cooldown now.")
@click.option("--reason", default="", help="Why (shown in domains list).")
@click.option("--dry-run", is_flag=True, help="Show the plan, change nothing.")
@pass_app
def cooldown_cmd(
    app: AppContext, *, domain: str, length: str | None, off: bool, reason: str, dry_run: bool
) -> None:
    """Stop every scraper requesting DOMAIN for a while (runbook: enable_cooldown)."""
    name = check_domain(domain)
    if off == (length is not None):
        raise InputError("give --for DURATION (30m, 2h) or --off")
    settings = app.settings.domain_controls
    span = None if off else parse_duration(str(length), max_hours=settings.max_cooldown_hours)
    args = {"domain": name, "for": length, "off": off, "reason": reason}
    controls = _controls(app)
    text = reason or "cooldown by hand"
    with app.audit.action("domains.cooldown", args, dry_run=dry_run) as out:
        if dry_run:
            plan = controls.plan_cooldown(name, span, text)
        else:
            plan = controls.cooldown(name, span, reason=text, actor=_actor(app))
        out.detail = plan.describe()
    _report(app, plan, dry_run=dry_run)


def _pause(app: AppContext, domain: str, paused: bool, reason: str, dry_run: bool) -> None:
    name = check_domain(domain)
    action = "domains.pause" if paused else "domains.resume"
    controls = _controls(app)
    with app.audit.action(action, {"domain": name, "reason": reason}, dry_run=dry_run) as out:
        if dry_run:
            plan = controls.plan_pause(name, paused, reason)
        else:
            plan = controls.pause(name, paused, reason=reason, actor=_actor(app))
        out.detail = plan.describe()
    _report(app, plan, dry_run=dry_run)


@domains.command("pause")
@click.argument("domain")
@click.option("--reason", default="", help="Why (shown in domains list).")
@click.option("--dry-run", is_flag=True, help="Show the plan, change nothing.")
@pass_app
def pause_cmd(app: AppContext, *, domain: str, reason: str, dry_run: bool) -> None:
    """Stop every scraper requesting DOMAIN until it is resumed."""
    _pause(app, domain, True, reason or "paused by hand", dry_run)


@domains.command("resume")
@click.argument("domain")
@click.option("--dry-run", is_flag=True, help="Show the plan, change nothing.")
@pass_app
def resume_cmd(app: AppContext, *, domain: str, dry_run: bool) -> None:
    """Let scrapers request DOMAIN again (ends a pause and a cooldown)."""
    _pause(app, domain, False, "", dry_run)


@domains.command("caching")
@click.argument("domain")
@click.argument("state", type=click.Choice(["on", "off"]))
@click.option("--dry-run", is_flag=True, help="Show the plan, change nothing.")
@pass_app
def caching_cmd(app: AppContext, *, domain: str, state: str, dry_run: bool) -> None:
    """Conditional requests for DOMAIN (runbook: enable_caching): scrapers send the page's ETag
    back and skip extracting a page that did not change (a new strategy version)."""
    name = check_domain(domain)
    controls = _controls(app)
    active = next((v for v in controls.active_versions() if v.domain == name), None)
    current = active.strategy if active else Strategy()
    wanted = current.model_copy(update={"conditional_requests": state == "on"})
    changes = wanted != current
    text = f"caching {state} for {name}" + ("" if changes else " already: nothing to change")
    with app.audit.action("domains.caching", {"domain": name, "state": state},
                          dry_run=dry_run) as out:  # fmt: skip
        if changes and not dry_run:
            _, now = controls.set_strategy(name, wanted, actor=_actor(app), note=f"caching {state}")
            text += f" (strategy v{now.version})" if now else ""
        out.detail = text
    prefix = "would set " if dry_run and changes else ""
    app.output.data({"dry_run": dry_run, "domain": name, "caching": state, "changed": changes},
                    prefix + text)  # fmt: skip


@domains.command("auto-cooldown")
@pass_app
def auto_cmd(app: AppContext) -> None:
    """Run auto-cooldown once (the scrapers run it every domain_controls.auto_every_seconds):
    cool down every domain whose ban share crossed domain_controls.ban_share."""
    controls = _controls(app)
    schema = PlatformSchema.read(app.database, app.settings.tables)
    started = controls.auto_cooldown(schema, AuditLog(app.database, AUTO_ACTOR))
    now = datetime.now(UTC)
    minutes = app.settings.domain_controls.ban_window_minutes
    app.output.table(
        ("domain", "ban share", "until", "reason"),
        [
            (
                f.domain,
                f"{f.share:.0%}",
                f"{(f.until - now).total_seconds() / 60:.0f} min",
                f.reason(minutes),
            )
            for f in started
        ],
        payload={
            "started": [
                {
                    "domain": f.domain,
                    "requests": f.requests,
                    "bans": f.bans,
                    "until": f.until.isoformat(),
                }
                for f in started
            ]
        },
    )
    if not started:
        app.output.info("no domain over its ban share: nothing cooled down")
