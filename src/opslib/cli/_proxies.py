"""``opslib proxies``: the pool's list, tests, distribution, rotation and per-domain policy."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import httpx

from opslib.cli._context import AppContext, pass_app
from opslib.errors import ConfigError, DataError, UnreachableError
from opslib.proxies import (
    DomainPolicy,
    ImportResult,
    ProbeResult,
    Proxy,
    ProxyPool,
    ProxyState,
    apply_rotation,
    country_distribution,
    parse_proxy_lines,
    plan_rotation,
    probe_proxies,
    read_lines,
)
from opslib.redact import redact

__all__ = ["proxies"]

_CHUNK = 1 << 16
_MAX_DOWNLOAD = 200 * 1024 * 1024


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


@contextmanager
def _open_source(source: str, timeout: float) -> Iterator[Iterator[bytes]]:
    if source.startswith(("http://", "https://")):
        try:
            with (
                httpx.Client(timeout=timeout, trust_env=False) as client,
                client.stream("GET", source) as response,
            ):
                response.raise_for_status()
                yield _capped(response.iter_bytes(_CHUNK), source)
        except httpx.HTTPError as exc:
            raise UnreachableError(redact(source), redact(str(exc))) from exc
        return
    path = Path(source)
    try:
        with path.open("rb") as fh:
            yield iter(lambda: fh.read(_CHUNK), b"")
    except OSError as exc:
        raise DataError(f"cannot read {source}: {exc.strerror}") from exc


def _capped(chunks: Iterator[bytes], source: str) -> Iterator[bytes]:
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > _MAX_DOWNLOAD:
            raise DataError(f"{redact(source)}: more than {_MAX_DOWNLOAD >> 20} MB")
        yield chunk


@proxies.command("update")
@click.argument("sources", nargs=-1, required=True)
@click.option("--reserve", is_flag=True, help="New proxies join as reserves, not active.")
@click.option("--dry-run", is_flag=True, help="Show what would change, change nothing.")
@pass_app
def update_cmd(app: AppContext, sources: tuple[str, ...], reserve: bool, dry_run: bool) -> None:
    """Import proxy lists (files or URLs): host:port, scheme://user:pass@host:port, CSV with a
    header, or JSON lines. Proxies of the same source that are no longer listed retire."""
    results: list[ImportResult] = []
    for source in sources:
        with _open_source(source, app.settings.timeouts.http) as chunks:
            results.append(parse_proxy_lines(read_lines(chunks), Path(source).name or source))
    pool = _pool(app)
    known = {p.url: p for p in pool.proxies()}
    listed: dict[str, Proxy] = {}
    for result in results:
        listed.update(result.proxies)
    added = sorted(set(listed) - set(known))
    unchanged = sorted(set(listed) & set(known))
    names = {r.source for r in results}
    removed = sorted(
        url for url, p in known.items()
        if p.source in names and url not in listed and p.state is not ProxyState.RETIRED
    )  # fmt: skip
    problems = [
        {"source": r.source, "line": p.line, "problem": p.problem}
        for r in results
        for p in r.problems
    ]
    summary: dict[str, Any] = {
        "dry_run": dry_run,
        "added": len(added),
        "removed": len(removed),
        "unchanged": len(unchanged),
        "duplicates_merged": sum(r.duplicates for r in results),
        "bad_lines": sum(r.bad_lines for r in results),
        "problems": problems,
    }
    if not dry_run:
        with app.audit.action("proxies.update", {"sources": list(sources)}, dry_run=False) as out:
            state = ProxyState.RESERVE if reserve else ProxyState.ACTIVE
            with app.database.transaction():  # a killed update adds nothing or everything
                pool.upsert(listed.values(), state)
                pool.set_state(removed, ProxyState.RETIRED, "no longer listed by its source")
            out.detail = f"added {len(added)}, removed {len(removed)}, unchanged {len(unchanged)}"
    else:
        app.audit.record(
            "proxies.update", {"sources": list(sources)}, dry_run=True, outcome="ok",
            detail=f"would add {len(added)}, remove {len(removed)}",
        )  # fmt: skip
    for problem in problems:
        app.output.info(f"{problem['source']}:{problem['line']}: {problem['problem']} (skipped)")
    verb = "would add" if dry_run else "added"
    app.output.data(
        summary,
        f"{verb} {len(added)}, removed {len(removed)}, unchanged {len(unchanged)}; "
        f"{summary['duplicates_merged']} duplicate(s) merged, {summary['bad_lines']} bad line(s)",
    )


# test and health


def _judge(app: AppContext) -> str:
    judge = app.settings.proxies.judge_url
    if judge is None:
        raise ConfigError(
            "no judge URL", ("proxies.judge_url: not set (a URL that echoes the request as JSON)",)
        )
    return judge


def _run_probes(app: AppContext, chosen: list[Proxy], targets: list[str]) -> list[ProbeResult]:
    s = app.settings.proxies
    bar = click.progressbar(length=len(chosen), label="testing proxies", file=None)
    show = app.output.isatty()

    def progress(_result: ProbeResult) -> None:
        if show:
            bar.update(1)

    results = asyncio.run(
        probe_proxies(
            chosen, _judge(app), timeout=s.test_timeout, deadline=s.test_deadline,
            concurrency=s.test_concurrency, targets=targets, progress=progress,
        )
    )  # fmt: skip
    if show:
        bar.render_finish()
    return results


def _connectable(app: AppContext, states: list[ProxyState]) -> list[Proxy]:
    rows = app.database.fetch_all(
        "SELECT scheme, host, port, username, password, country FROM opslib.proxies"
        " WHERE state = ANY(%s) ORDER BY url",
        ([s.value for s in states],),
    )
    return [Proxy(**r) for r in rows]


def _report_probes(app: AppContext, results: list[ProbeResult]) -> None:
    bad = [r for r in results if not r.ok or r.leaks]
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
            for r in results
        ],
        payload={
            "tested": len(results),
            "failing": len(bad),
            "results": [asdict(r) for r in results],
        },
    )
    if bad:
        app.output.info(f"{len(bad)} of {len(results)} proxies failing or leaking")
        click.get_current_context().exit(2 if len(bad) == len(results) else 1)


def _record(app: AppContext, action: str, results: list[ProbeResult], *, dry_run: bool) -> None:
    """Store the results in the pool (it ends backoffs, so it is audited); a dry run only
    audits what it found."""
    failing = sum(1 for r in results if not r.ok or r.leaks)
    detail = f"{len(results)} tested, {failing} failing or leaking"
    args = {"tested": len(results)}
    if dry_run:
        app.audit.record(action, args, dry_run=True, outcome="ok", detail=detail)
        return
    with app.audit.action(action, args, dry_run=False) as out:
        _pool(app).record_probes(results)
        out.detail = detail


@proxies.command("test")
@click.option("--targets", is_flag=True, help="Also fetch proxies.target_urls through each proxy;"
              " a target refusing it (401/403/407/429/451) fails it.")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Test, but record nothing in the pool.")
@pass_app
def test_cmd(app: AppContext, targets: bool, dry_run: bool) -> None:
    """Test every active and reserve proxy against the judge URL, concurrently; record results."""
    chosen = _connectable(app, [ProxyState.ACTIVE, ProxyState.RESERVE])
    results = _run_probes(app, chosen, app.settings.proxies.target_urls if targets else [])
    _record(app, "proxies.test", results, dry_run=dry_run)
    _report_probes(app, results)


@proxies.command("health")
@click.option("--dry-run", is_flag=True, help="Test, but record nothing in the pool.")
@pass_app
def health_cmd(app: AppContext, dry_run: bool) -> None:
    """A quick test of a random sample of active proxies (the emergency check)."""
    active = _connectable(app, [ProxyState.ACTIVE])
    sample = random.sample(active, min(len(active), app.settings.proxies.health_sample))
    results = _run_probes(app, sample, [])
    _record(app, "proxies.health", results, dry_run=dry_run)
    _report_probes(app, results)


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
@click.option("--ban-domains", default=3, show_default=True, help="Quarantine a proxy banned by"
              " at least this many domains.")  # fmt: skip
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
    old = pool.policy(domain)
    changes: dict[str, Any] = {}
    if country is not None:
        code = None if country == "-" else country.lower()
        if code is not None and (len(code) != 2 or not code.isalpha()):
            raise DataError(f"invalid country code {country!r}")
        changes["country"] = code
    if sticky is not None:
        changes["sticky"] = sticky
    if max_concurrency is not None:
        changes["max_concurrency"] = max_concurrency
    if ban_statuses:
        changes["ban_statuses"] = ban_statuses
    if ban_patterns:
        changes["ban_patterns"] = ban_patterns
    if ban_minutes is not None:
        changes["ban_minutes"] = ban_minutes
    new = DomainPolicy(**{**asdict(old), **changes})
    if changes:
        args = {"domain": domain, **dict(changes.items())}
        if dry_run:
            app.audit.record("proxies.config", args, dry_run=True, outcome="ok")
        else:
            with app.audit.action("proxies.config", args, dry_run=False) as out:
                pool.set_policy(new)
                out.detail = f"policy of {domain} changed"
    app.output.data({"dry_run": dry_run, "changed": sorted(changes), **asdict(new)})
