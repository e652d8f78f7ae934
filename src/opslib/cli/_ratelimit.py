"""``opslib ratelimit``: show and change the per-domain rate limits every scraper shares."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from opslib.audit import current_actor
from opslib.cli._context import AppContext, pass_app
from opslib.ratelimit import RateLimiter, check_domain, format_rate, parse_rate

__all__ = ["ratelimit"]


def _limiter(app: AppContext) -> RateLimiter:
    return RateLimiter(app.database, app.settings.ratelimit)


@click.group()
def ratelimit() -> None:
    """Per-domain rate limits shared by every scraper replica (runbook: update_rate_limits)."""


@ratelimit.command("show")
@click.argument("domain", required=False)
@pass_app
def show_cmd(app: AppContext, domain: str | None) -> None:
    """Every domain's limit (or DOMAIN's): rate, burst, concurrency and requests in flight, a
    Retry-After in force; domains without a limit of their own run on the default."""
    limiter = _limiter(app)
    limits = [limiter.limit(domain)] if domain else limiter.limits()
    now = datetime.now(UTC)
    rows = [
        (
            lim.domain,
            format_rate(lim.rate),
            lim.burst,
            lim.concurrency if lim.concurrency is not None else "-",
            lim.in_flight,
            "yes" if lim.configured else "default",
            _blocked(lim.blocked_until, lim.blocked_reason, now),
        )
        for lim in limits
    ]
    settings = app.settings.ratelimit
    default = f"{format_rate(settings.default_rate)}, burst {settings.default_burst}"
    app.output.table(
        ("domain", "rate", "burst", "concurrency", "in flight", "configured", "held"),
        rows,
        payload={
            "default": {"rate": settings.default_rate, "burst": settings.default_burst},
            "limits": [lim.as_dict(now) for lim in limits],
        },
    )
    app.output.info(f"default for any other domain: {default} (ratelimit.default_rate/_burst)")


def _blocked(until: datetime | None, reason: str | None, now: datetime) -> str:
    if until is None or until <= now:
        return ""
    return f"until {until.astimezone(UTC):%H:%M:%S} UTC ({reason or 'Retry-After'})"


@ratelimit.command("set")
@click.argument("domain")
@click.option("--rate", "rate_text", help="N/s, N/m or N/h (2/s, 30/m, 600/h); above 0.")
@click.option("--burst", type=int, help="Permits at once (at least 1; default: kept, or 1 s of"
              " the new rate for a domain on the default).")  # fmt: skip
@click.option("--concurrency", type=int, help="Requests in flight at once (at least 1).")
@click.option("--dry-run", is_flag=True, help="Show the change, make none.")
@pass_app
def set_cmd(
    app: AppContext,
    *,
    domain: str,
    rate_text: str | None,
    burst: int | None,
    concurrency: int | None,
    dry_run: bool,
) -> None:
    """Set DOMAIN's limit; every replica follows from its next batch (within a fraction of a
    second). Options not given are kept."""
    from opslib.errors import InputError

    name = check_domain(domain)
    rate = parse_rate(rate_text) if rate_text is not None else None
    if rate is None and burst is None and concurrency is None:
        raise InputError(
            "give --rate, --burst or --concurrency (opslib ratelimit show: the limits)"
        )
    args = {"domain": name, "rate": rate_text, "burst": burst, "concurrency": concurrency}
    limiter = _limiter(app)
    with app.audit.action("ratelimit.set", args, dry_run=dry_run) as out:
        if dry_run:
            plan = limiter.plan_set(name, rate=rate, burst=burst, concurrency=concurrency)
        else:
            plan = limiter.set_limit(
                name,
                rate=rate,
                burst=burst,
                concurrency=concurrency,
                actor=app.settings.actor or current_actor(),
            )
        out.detail = plan.describe()
    text = f"{'would set ' if dry_run and plan.changes else ''}{plan.describe()}"
    app.output.data({"dry_run": dry_run, **plan.as_dict()}, text)
