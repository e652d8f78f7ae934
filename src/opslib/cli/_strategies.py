"""``opslib strategies``: show, set and roll back the per-domain scraping strategies."""

from __future__ import annotations

from pathlib import Path

import click

from opslib.audit import current_actor
from opslib.cli._context import AppContext, pass_app
from opslib.domains import DomainControls, StrategyVersion, read_strategy
from opslib.ratelimit import check_domain

__all__ = ["strategies"]


def _controls(app: AppContext) -> DomainControls:
    return DomainControls(app.database, app.settings.domain_controls)


def _line(version: StrategyVersion) -> str:
    s = version.strategy
    parts = [
        f"{version.domain} v{version.version}{' (active)' if version.active else ''}",
        f"profile {s.headers_profile}",
        f"{len(s.user_agents)} user agent(s)" if s.user_agents else "",
        f"delay {s.delay_seconds:g}+{s.jitter_seconds:g}s",
        f"proxy {s.proxy_country or 'any'}{' sticky' if s.sticky_proxy else ''}",
        f"retries {s.retries} (backoff {s.backoff_seconds:g}s x{s.backoff_factor:g})",
        "browser" if s.needs_browser else "",
        "caching" if s.conditional_requests else "",
        f"by {version.actor} {version.created_at:%Y-%m-%d %H:%M}",
    ]
    return ", ".join(p for p in parts if p)


@click.group()
def strategies() -> None:
    """Per-domain scraping strategies, versioned (runbook: update_strategies)."""


@strategies.command("show")
@click.argument("domain", required=False)
@pass_app
def show_cmd(app: AppContext, domain: str | None) -> None:
    """The active strategy of every domain that has one, or every version of DOMAIN's."""
    controls = _controls(app)
    versions = controls.versions(check_domain(domain)) if domain else controls.active_versions()
    text = "\n".join(_line(v) for v in versions)
    if not versions:
        text = f"{domain or 'no domain'}: the default strategy (none stored)"
    app.output.data({"strategies": [v.as_dict() for v in versions]}, text)


@strategies.command("set")
@click.argument("domain")
@click.option(
    "--file",
    "path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The strategy, a .toml or .json file (fields: opslib.domains.Strategy).",
)
@click.option("--note", default="", help="Why (kept with the version).")
@click.option("--dry-run", is_flag=True, help="Validate and show, store nothing.")
@pass_app
def set_cmd(app: AppContext, *, domain: str, path: Path, note: str, dry_run: bool) -> None:
    """Validate the strategy in --file and make it DOMAIN's next, active version."""
    name = check_domain(domain)
    strategy = read_strategy(path)
    controls = _controls(app)
    args = {"domain": name, "file": str(path), "note": note, "strategy": strategy.as_dict()}
    with app.audit.action("strategies.set", args, dry_run=dry_run) as out:
        if dry_run:
            active = next((v for v in controls.versions(name) if v.active), None)
            same = active is not None and active.strategy == strategy
            text = (
                f"{name}: the active version {active.version} is the same: nothing to change"
                if same and active is not None
                else f"would store {name}'s strategy as its next version and make it active"
            )
            payload = {"domain": name, "changes": not same, "strategy": strategy.as_dict()}
        else:
            before, now = controls.set_strategy(
                name, strategy, actor=app.settings.actor or current_actor(), note=note
            )
            assert now is not None
            changed = before is None or before.version != now.version
            was = f"v{before.version}" if before else "the default"
            text = (
                f"{name}: strategy v{now.version} active (was {was})"
                if changed
                else f"{name}: the active version {now.version} is the same: nothing to change"
            )
            payload = {"domain": name, "changes": changed, **now.as_dict()}
        out.detail = text
    app.output.data({"dry_run": dry_run, **payload}, text)


@strategies.command("rollback")
@click.argument("domain")
@click.option("--dry-run", is_flag=True, help="Show the plan, change nothing.")
@pass_app
def rollback_cmd(app: AppContext, *, domain: str, dry_run: bool) -> None:
    """Make the version before DOMAIN's active one active again (every version is kept)."""
    name = check_domain(domain)
    controls = _controls(app)
    with app.audit.action("strategies.rollback", {"domain": name}, dry_run=dry_run) as out:
        left, back = controls.plan_rollback(name) if dry_run else controls.rollback(name)
        verb = "would roll" if dry_run else "rolled"
        text = f"{name}: {verb} back from v{left.version} to v{back.version}"
        out.detail = text
    app.output.data(
        {"dry_run": dry_run, "domain": name, "from": left.version, "to": back.version}, text
    )
