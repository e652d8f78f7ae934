"""``opslib proxies``: the pool's list, tests, distribution, rotation and per-domain policy."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import click

from opslib.cli._context import AppContext, pass_app
from opslib.proxies import (
    ProbeResult,
    ProbeRun,
    Proxy,
    ProxyPool,
    ProxyState,
    apply_import,
    apply_policy,
    apply_rotation,
    country_distribution,
    plan_import,
    plan_policy,
    plan_rotation,
    proxies_to_test,
    read_proxy_list,
    reseal_passwords,
    run_probes,
)

__all__ = ["proxies"]


def _pool(app: AppContext) -> ProxyPool:
    return ProxyPool(app.database, app.settings.proxies)


@click.group()
@pass_app
def proxies(app: AppContext) -> None:
    """The proxy pool (weekly maintenance, high-error-rate emergency)."""
    click.get_current_context().call_on_close(lambda: _close(app))


def _close(app: AppContext) -> None:
    database = app.__dict__.get("database")  # only if a command opened it
    if database is not None:
        database.close()


@proxies.command("list")
@pass_app
def list_cmd(app: AppContext) -> None:
    """Every proxy with its state and health (never its credentials)."""
    found = _pool(app).proxies()
    app.output.table(
        ("url", "country", "state", "success", "latency ms", "in use", "banned for", "backoff"),
        [
            (
                p.url,
                p.country or "-",
                p.state.value,
                f"{p.success_rate:.0%}",
                "-" if p.latency_ms is None else f"{p.latency_ms:.0f}",
                p.in_use,
                ",".join(p.banned_for) or "-",
                p.backoff_until.strftime("%H:%M:%S") if p.backoff_until else "-",
            )
            for p in found
        ],
        payload=[_public(p) for p in found],
    )


def _public(p: Any) -> dict[str, Any]:
    data = asdict(p)
    data["state"] = p.state.value
    return data


# update


@proxies.command("update")
@click.argument("sources", nargs=-1, required=True)
@click.option("--reserve", is_flag=True, help="New proxies join as reserves, not active.")
@click.option("--dry-run", is_flag=True, help="Show what would change, change nothing.")
@pass_app
def update_cmd(app: AppContext, sources: tuple[str, ...], reserve: bool, dry_run: bool) -> None:
    """Import proxy lists (files or URLs) as published: host:port, scheme://user:pass@host:port,
    host:port:user:pass, free lists (IP:PORT CC-H-S +), checker output, CSV with a header, JSON
    lines; prose is skipped. Proxies of the same source that are no longer listed retire."""
    lists = [read_proxy_list(source, app.settings.timeouts) for source in sources]
    state = ProxyState.RESERVE if reserve else ProxyState.ACTIVE
    pool = _pool(app)
    plan = plan_import(pool, lists, state)
    args = {"sources": list(sources)}
    if dry_run:
        app.audit.record(
            "proxies.update", args, dry_run=True, outcome="ok",
            detail=f"would add {len(plan.added)}, remove {len(plan.removed)}",
        )  # fmt: skip
        counts = (len(plan.added), len(plan.removed), len(plan.unchanged))
    else:
        with app.audit.action("proxies.update", args, dry_run=False) as out:
            done = apply_import(pool, plan)  # planned again under the pool's lock
            counts = (done.added, done.retired, done.unchanged)
            out.detail = f"added {done.added}, removed {done.retired}, unchanged {done.unchanged}"
    for problem in plan.problems:
        app.output.info(f"{problem} (skipped)")
    skipped = sum(result.skipped for result in lists)
    app.output.data(
        {
            "dry_run": dry_run,
            "added": counts[0],
            "removed": counts[1],
            "unchanged": counts[2],
            "duplicates_merged": plan.duplicates,
            "bad_lines": plan.bad_lines,
            "skipped_lines": skipped,
            "problems": [asdict(p) for p in plan.problems],
        },
        f"{'would add' if dry_run else 'added'} {counts[0]}, removed {counts[1]}, "
        f"unchanged {counts[2]}; {plan.duplicates} duplicate(s) merged, "
        f"{plan.bad_lines} bad line(s), skipped {skipped} line(s) that are not proxies",
    )


# test and health


def _run_probes(app: AppContext, chosen: list[Proxy], targets: list[str]) -> ProbeRun:
    bar = click.progressbar(length=len(chosen), label="testing proxies", file=None)
    show = app.output.isatty()

    def progress(_result: ProbeResult) -> None:
        if show:
            bar.update(1)

    run = run_probes(chosen, app.settings.proxies, targets=targets, progress=progress)
    if show:
        bar.render_finish()
    return run


def _report_probes(app: AppContext, run: ProbeRun) -> None:
    app.output.table(
        ("proxy", "status", "latency ms", "exit ip", "leaks", "error"),
        [
            (
                r.url,
                r.status,
                "-" if r.latency_ms is None else f"{r.latency_ms:.0f}",
                r.exit_ip or "-",
                {True: "yes", False: "no", None: "-"}[r.leaks],
                r.error,
            )
            for r in run.results
        ],
        payload={
            "tested": len(run.results),
            "failing": len(run.failing),
            "results": [asdict(r) for r in run.results],
        },
    )
    if run.failing:
        app.output.info(f"{len(run.failing)} of {len(run.results)} proxies failing or leaking")
        click.get_current_context().exit(2 if run.all_failing else 1)


def _record(app: AppContext, action: str, run: ProbeRun, *, dry_run: bool) -> None:
    """Store the results in the pool (it ends backoffs, so it is audited); a dry run only
    audits what it found."""
    args = {"tested": len(run.results)}
    if dry_run:
        app.audit.record(action, args, dry_run=True, outcome="ok", detail=run.summary)
        return
    with app.audit.action(action, args, dry_run=False) as out:
        _pool(app).record_probes(run.results)
        out.detail = run.summary


@proxies.command("test")
@click.option("--targets", is_flag=True, help="Also fetch proxies.target_urls through each proxy;"
              " a target refusing it (401/403/407/429/451) fails it.")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Test, but record nothing in the pool.")
@pass_app
def test_cmd(app: AppContext, targets: bool, dry_run: bool) -> None:
    """Test every active and reserve proxy against the judge URL, concurrently; record results."""
    chosen = proxies_to_test(_pool(app), [ProxyState.ACTIVE, ProxyState.RESERVE])
    run = _run_probes(app, chosen, app.settings.proxies.target_urls if targets else [])
    _record(app, "proxies.test", run, dry_run=dry_run)
    _report_probes(app, run)


@proxies.command("health")
@click.option("--dry-run", is_flag=True, help="Test, but record nothing in the pool.")
@pass_app
def health_cmd(app: AppContext, dry_run: bool) -> None:
    """A quick test of a random sample of active proxies (the emergency check)."""
    sample = proxies_to_test(
        _pool(app), [ProxyState.ACTIVE], sample=app.settings.proxies.health_sample
    )
    run = _run_probes(app, sample, [])
    _record(app, "proxies.health", run, dry_run=dry_run)
    _report_probes(app, run)


@proxies.command("distribution")
@pass_app
def distribution_cmd(app: AppContext) -> None:
    """Healthy proxies per country against the required minimums and the maximum share."""
    result = country_distribution(_pool(app), app.settings, datetime.now(UTC))
    table = result.tables[0] if result.tables else None
    app.output.table(
        table.columns if table else ("country",),
        table.rows if table else [],
        payload={
            "severity": result.severity.name,
            "message": result.message(),
            "rows": [dict(zip(table.columns, r, strict=True)) for r in table.rows] if table else [],
        },
    )
    app.output.info(result.message())
    click.get_current_context().exit(int(result.severity))


@proxies.command("rotate")
@click.option("--ban-domains", default=3, show_default=True, type=click.IntRange(1, 1000),
              help="Quarantine a proxy banned by at least this many domains.")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Show the plan, change nothing.")
@pass_app
def rotate_cmd(app: AppContext, ban_domains: int, dry_run: bool) -> None:
    """Quarantine failing and banned proxies, promote reserves; a required country never drops
    below its minimum."""
    pool = _pool(app)
    args = {"ban_domains": ban_domains}
    if dry_run:
        plan = plan_rotation(pool.proxies(), app.settings.proxies, datetime.now(UTC), ban_domains)
        app.audit.record("proxies.rotate", args, dry_run=True, outcome="ok",
                         detail=f"would quarantine {len(plan.quarantine)}")  # fmt: skip
    else:
        with app.audit.action("proxies.rotate", args, dry_run=False) as out:
            plan = apply_rotation(pool, app.settings.proxies, ban_domains)
            out.detail = f"quarantined {len(plan.quarantine)}, promoted {len(plan.promote)}"
    rows = [("quarantine", u, why) for u, why in plan.quarantine]
    rows += [("promote", u, why) for u, why in plan.promote]
    rows += [("keep", u, why) for u, why in plan.kept]
    app.output.table(
        ("action", "proxy", "why"),
        rows,
        payload={
            "dry_run": dry_run,
            "quarantine": plan.quarantine,
            "promote": plan.promote,
            "kept": plan.kept,
        },
    )


@proxies.command("encrypt")
@click.option("--decrypt", is_flag=True, help="Write every sealed password back as plain text.")
@click.option("--dry-run", is_flag=True, help="Count what would change, change nothing.")
@pass_app
def encrypt_cmd(app: AppContext, decrypt: bool, dry_run: bool) -> None:
    """Seal every stored proxy password under the first of proxies.encryption_keys.

    Seals plain-text rows and re-seals rows under an older key (to rotate: put the new key
    first, run this, then drop the old key). --decrypt undoes it.
    """
    pool = _pool(app)
    args = {"decrypt": decrypt}
    if dry_run:
        done = reseal_passwords(pool, decrypt=decrypt, dry_run=True)
        app.audit.record("proxies.encrypt", args, dry_run=True, outcome="ok", detail=done.summary)
    else:
        with app.audit.action("proxies.encrypt", args, dry_run=False) as out:
            done = reseal_passwords(pool, decrypt=decrypt)
            out.detail = done.summary
    app.output.data({**asdict(done), "changed": done.changed}, done.summary)


@proxies.command("config")
@click.argument("domain")
@click.option("--country", help="Only proxies of this country (two letters); '-' for any.")
@click.option("--sticky/--no-sticky", default=None, help="Keep a session on one proxy.")
@click.option("--max-concurrency", type=click.IntRange(1, 10_000), help="Leases per proxy.")
@click.option("--ban-status", "ban_statuses", type=click.IntRange(100, 599), multiple=True)
@click.option("--ban-pattern", "ban_patterns", multiple=True, help="Body text meaning 'banned'.")
@click.option("--ban-minutes", type=click.IntRange(1, 10_000))
@click.option("--dry-run", is_flag=True, help="Show the new policy, change nothing.")
@pass_app
def config_cmd(
    app: AppContext,
    *,
    domain: str,
    country: str | None,
    sticky: bool | None,
    max_concurrency: int | None,
    ban_statuses: tuple[int, ...],
    ban_patterns: tuple[str, ...],
    ban_minutes: int | None,
    dry_run: bool,
) -> None:
    """Show or change the proxy policy of DOMAIN."""
    pool = _pool(app)
    plan = plan_policy(
        pool, domain, country=country, sticky=sticky, max_concurrency=max_concurrency,
        ban_statuses=ban_statuses, ban_patterns=ban_patterns, ban_minutes=ban_minutes,
    )  # fmt: skip
    if plan.changes:
        args = {"domain": domain, **dict(plan.changes)}
        if dry_run:
            app.audit.record("proxies.config", args, dry_run=True, outcome="ok")
        else:
            with app.audit.action("proxies.config", args, dry_run=False) as out:
                apply_policy(pool, plan)
                out.detail = f"policy of {domain} changed"
    app.output.data({"dry_run": dry_run, "changed": list(plan.changed), **asdict(plan.new)})
