"""``opslib security``: analyse the access logs, block and unblock sources, export the
blocklist to the firewall."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import click

from opslib.audit import current_actor
from opslib.cli._context import AppContext, pass_app
from opslib.errors import OpsError
from opslib.results import Severity
from opslib.security import (
    Analysis,
    Blocklist,
    DocumentVersion,
    VersionStore,
    analyze_security_logs,
    apply_rules,
    build_rules,
    check_blockable,
    diff_documents,
    effective_settings,
    generate_incident_report,
    open_incident,
    parse_duration,
    parse_network,
    plan_policy,
    plan_rules,
    policy_for,
    policy_store,
    protected_networks,
)

__all__ = ["security"]


def _blocklist(app: AppContext) -> Blocklist:
    return Blocklist(app.database, app.settings.security)


def _actor(app: AppContext) -> str:
    return app.settings.actor or current_actor()


def _analyse(
    app: AppContext,
    logs: tuple[str, ...],
    *,
    since: str | None,
    service: str | None,
) -> Analysis:
    settings = app.settings
    policy = policy_for(settings)
    if since is not None:
        parse_duration(since)  # a bad --since is one line, exit 2
    streams: list[tuple[str, IO[bytes]]] = []
    files = [f for f in logs if f != "-"]
    if "-" in logs:
        streams.append(("stdin", sys.stdin.buffer))
    platform = None
    if service is not None:
        from opslib.connect import open_platform

        platform = open_platform(settings)
    security = settings.security
    if service is not None:
        security = security.model_copy(update={"service": service})
    return analyze_security_logs(
        security, policy, files=files, streams=streams, platform=platform, since=since
    )


def _severity(analysis: Analysis, app: AppContext) -> Severity:
    if not analysis.suspects:
        return Severity.OK
    try:  # the security policy's limits when one is set and the database answers
        settings = effective_settings(app.settings, app.database)
    except OpsError:
        settings = app.settings
    rate = settings.threshold("security.request_rate")
    auth = settings.threshold("security.auth_failures")
    for suspect in analysis.suspects:
        if (
            suspect.sensitive_successes
            or rate.evaluate(suspect.rate) is Severity.CRITICAL
            or auth.evaluate(suspect.auth_failures_per_minute) is Severity.CRITICAL
        ):
            return Severity.CRITICAL
    return Severity.WARNING


@click.group()
def security() -> None:
    """Security incidents: analyse access logs, block sources, export firewall rules."""


@security.command("analyze")
@click.argument("logs", nargs=-1)
@click.option("--since", help="Only the last 30m, 1h, 1d ... (default security.window).")
@click.option("--service", help="Read this compose service's container logs.")
@click.option("--limit", default=10, show_default=True, help="Suspects shown.")
@pass_app
def analyze_cmd(
    app: AppContext, logs: tuple[str, ...], since: str | None, service: str | None, limit: int
) -> None:
    """Rank suspect clients (IPs and API keys) in access logs (LOG files, - for stdin; default
    security.access_logs), with the evidence and the action. Exit 0 none, 1 suspects, 2 a
    suspect over a critical limit or a probe that succeeded."""
    analysis = _analyse(app, logs, since=since, service=service)
    severity = _severity(analysis, app)
    rows = [
        (
            s.kind,
            s.client,
            s.requests,
            f"{s.rate:.2f}",
            s.auth_failures,
            s.unusual_paths,
            f"{s.score:.1f}",
            "; ".join(s.reasons),
        )
        for s in analysis.suspects[:limit]
    ]
    summary = (
        f"{analysis.lines} line(s), {analysis.parsed} in the window, {analysis.skipped} skipped;"
        f" {len(analysis.clients)} address(es), {len(analysis.keys)} key(s);"
        f" {len(analysis.suspects)} suspect(s)"
    )
    if app.output.as_json:
        app.output.data({"severity": severity.name, "summary": summary, **analysis.as_dict()})
    else:
        if rows:
            app.output.table(
                ("kind", "client", "requests", "req/s", "auth fail", "probes", "score", "evidence"),
                rows,
            )
            app.output.info("next:")
            for s in analysis.suspects[:limit]:
                app.output.info(f"  {s.action}")
        for note in analysis.notes:
            app.output.info(f"note: {note}")
        app.output.info(summary)
    click.get_current_context().exit(int(severity))


def _legit(app: AppContext) -> tuple[dict[str, int] | None, str]:
    """Requests per address of the clients that are not suspect, from the configured logs."""
    if not app.settings.security.access_logs:
        return None, "no access log configured: the legitimate-traffic check was skipped"
    try:
        analysis = _analyse(app, (), since=None, service=None)
    except OpsError as exc:
        return None, f"the legitimate-traffic check was skipped: {exc}"
    suspects = {s.client for s in analysis.suspects if s.kind == "ip"}
    # nor those whose every request failed authentication (credential stuffing, slow brute force)
    legit = [
        c for c in analysis.clients if c.client not in suspects and c.auth_failures < c.requests
    ]
    return {c.client: c.requests for c in legit}, ""


@security.command("block")
@click.argument("target")
@click.option("--for", "length", help="How long: 30m, 24h, 7d (default security.default_block).")
@click.option("--permanent", is_flag=True, help="Until unblocked.")
@click.option("--reason", required=True, help="Why (kept with the block and audited).")
@click.option("--dry-run", is_flag=True, help="Show the plan and the checks, change nothing.")
@pass_app
def block_cmd(
    app: AppContext,
    *,
    target: str,
    length: str | None,
    permanent: bool,
    reason: str,
    dry_run: bool,
) -> None:
    """Block an address or CIDR. Refused: everything (0.0.0.0/0, ::/0), the allowlist, your own
    address, a range holding more than security.max_legit_share of legitimate traffic."""
    network = parse_network(target)
    settings = effective_settings(app.settings, app.database)  # the policy over the config
    sec = settings.security
    span = None if permanent else parse_duration(length or sec.default_block)
    if span is not None and span.total_seconds() > sec.max_block_days * 86400:
        raise click.BadParameter(f"more than security.max_block_days ({sec.max_block_days:g})")
    blocklist = _blocklist(app)
    args: dict[str, Any] = {"target": str(network), "for": length, "reason": reason}
    with app.audit.action("security.block", args, dry_run=dry_run) as out:
        legit, note = _legit(app)
        own = [a for a in (blocklist.operator_address(),) if a]
        check_blockable(
            network,
            protected_networks(settings),
            own=own,
            legit=legit,
            max_share=sec.max_legit_share,
        )
        if dry_run:
            plan = blocklist.plan_block(str(network), reason=reason, length=span)
        else:
            plan = blocklist.block(str(network), reason=reason, length=span, actor=_actor(app))
        out.detail = plan.describe()
    if not dry_run and plan.changes:
        opened_by_action(app, f"block {network}: {reason}")
    text = f"{'would ' if dry_run and plan.changes else ''}{plan.describe()}"
    app.output.data({"dry_run": dry_run, "command": "block", **plan.as_dict()}, text)
    if note:
        app.output.info(f"note: {note}")


@security.command("unblock")
@click.argument("target")
@click.option("--dry-run", is_flag=True, help="Show the plan, change nothing.")
@pass_app
def unblock_cmd(app: AppContext, target: str, dry_run: bool) -> None:
    """Remove the block of exactly this address or CIDR (kept in the history)."""
    network = parse_network(target)
    blocklist = _blocklist(app)
    with app.audit.action("security.unblock", {"target": str(network)}, dry_run=dry_run) as out:
        if dry_run:
            plan = blocklist.plan_unblock(str(network))
        else:
            plan = blocklist.unblock(str(network), actor=_actor(app))
        out.detail = plan.describe()
    text = f"{'would ' if dry_run and plan.changes else ''}{plan.describe()}"
    app.output.data({"dry_run": dry_run, "command": "unblock", **plan.as_dict()}, text)


@security.command("list")
@click.option("--all", "show_all", is_flag=True, help="Also expired and removed blocks.")
@pass_app
def list_cmd(app: AppContext, show_all: bool) -> None:
    """The blocklist: network, state, reason, who, since, until."""
    blocklist = _blocklist(app)
    now = blocklist.now()
    entries = blocklist.entries(include_removed=show_all)
    rows = []
    payload = []
    for e in entries:
        state = "active" if e.active(now) else ("removed" if e.removed_at else "expired")
        if not show_all and state != "active":
            continue
        until = e.expires_at.isoformat(timespec="seconds") if e.expires_at else "unblocked"
        since = e.created_at.isoformat(timespec="seconds")
        rows.append((str(e.network), state, e.reason, e.actor, since, until))
        payload.append({**e.as_dict(), "state": state})
    app.output.table(("network", "state", "reason", "by", "since", "until"), rows, payload=payload)
    if not app.output.as_json:
        app.output.info(f"{sum(r[1] == 'active' for r in rows)} active block(s)")


@security.command("firewall")
@click.option("--format", "fmt", type=click.Choice(["nft", "nginx"]), default="nft")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the rules here (with --apply: the file nginx includes).")  # fmt: skip
@click.option("--apply", "do_apply", is_flag=True, help="Apply them (nft -f, or write --output).")
@pass_app
def firewall_cmd(app: AppContext, fmt: str, output: Path | None, do_apply: bool) -> None:
    """The active blocklist as nftables rules (validated with nft -c when nft is installed) or
    nginx deny lines; printed, or applied with --apply (audited)."""
    blocklist = _blocklist(app)
    now = blocklist.now()
    networks = [e.network for e in blocklist.entries() if e.active(now)]
    rules = build_rules(
        networks, "nft" if fmt == "nft" else "nginx", table=app.settings.security.nft_table
    )
    if not do_apply:
        if output is not None:
            output.write_text(rules.text)
        app.output.data(
            {"format": rules.format, "networks": rules.networks, "validated": rules.validated,
             "rules": rules.text},
            rules.text.rstrip("\n") if output is None else f"wrote {output}",
        )  # fmt: skip
        app.output.info(f"{rules.networks} network(s); {rules.validated}; not applied (--apply)")
        return
    args = {"format": rules.format, "networks": rules.networks, "output": str(output or "")}
    with app.audit.action("security.firewall", args, dry_run=False) as out:
        done = apply_rules(rules.text, rules.format, output)
        out.detail = f"{rules.networks} network(s): {done}"
    app.output.data(
        {"format": rules.format, "networks": rules.networks, "validated": rules.validated,
         "applied": done},
        f"{rules.networks} network(s); {rules.validated}; {done}",
    )  # fmt: skip


@security.group("incident")
def incident() -> None:
    """Security incidents: opened explicitly or by the first block, key revoke or rotation."""


@incident.command("open")
@click.option("--title", required=True, help="What happened (one line).")
@pass_app
def incident_open_cmd(app: AppContext, title: str) -> None:
    """Open an incident (or name the one already open)."""
    with app.audit.action("incident.open", {"title": title}, dry_run=False) as out:
        number, new = open_incident(app.database, title, actor=_actor(app))
        out.detail = f"incident {number} {'opened' if new else 'is open already'}"
    app.output.data({"incident": number, "opened": new}, out.detail)


@security.command("report")
@click.option("--incident", "number", type=int, required=True, help="The incident's id.")
@click.option("--markdown", type=click.Path(dir_okay=False, path_type=Path), help="Write here.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here.")  # fmt: skip
@pass_app
def report_cmd(app: AppContext, number: int, markdown: Path | None, html_file: Path | None) -> None:
    """The incident's report: timeline from the audit log, blocked sources, keys rotated or
    revoked, open follow-ups; printed as Markdown, or written to --markdown / --html."""
    report = generate_incident_report(app.database, number)
    if markdown is not None:
        markdown.write_text(report.markdown())
    if html_file is not None:
        html_file.write_text(report.html())
    written = [str(p) for p in (markdown, html_file) if p is not None]
    text = f"wrote {', '.join(written)}" if written else report.markdown().rstrip("\n")
    app.output.data(report.as_dict(), text)


def opened_by_action(app: AppContext, what: str) -> None:
    """Open an incident at the first security action (block, key revoke, rotation), noted."""
    number, new = open_incident(app.database, what, actor=_actor(app))
    if new:
        app.output.info(f"incident {number} opened: opslib security report --incident {number}")


# debug logging and request tracking (opslib.security._debug)


@security.group("debug")
def debug() -> None:
    """Debug logging and request tracking: switched through the database for a while, honoured
    by the services (opslib.security.debug_state), off by itself when the time is up."""


def _debug_scope(services: tuple[str, ...]) -> Any:
    from opslib.maintenance import MaintenanceScope

    return MaintenanceScope.of(services)


@debug.command("on")
@click.option("--for", "length", default="1h", show_default=True,
              help="How long (at most the critical limit of security.debug_hours).")  # fmt: skip
@click.option("--service", "services", multiple=True, help="Only this service (repeatable).")
@click.option("--only", type=click.Choice(["logging", "tracking"]),
              help="Only debug logging, or only request tracking (default both).")  # fmt: skip
@click.option("--reason", default="security incident investigation", show_default=True,
              help="Why (kept with the switch and audited).")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Show the plan, change nothing.")
@pass_app
def debug_on_cmd(
    app: AppContext,
    *,
    length: str,
    services: tuple[str, ...],
    only: str | None,
    reason: str,
    dry_run: bool,
) -> None:
    """Switch the services' log level to debug and give each request an id (X-Request-ID)
    for --for; joins the open incident. Idempotent: the switch of the same services is kept or
    its end moved."""
    from opslib.security import DebugSwitch, max_debug_length
    from opslib.security._debug import check_length

    span = check_length(parse_duration(length), max_debug_length(app.settings))
    scope = _debug_scope(services)
    logging_on, tracking_on = only != "tracking", only != "logging"
    switch = DebugSwitch(app.database, app.settings.security)
    args = {"for": length, "services": list(services), "only": only, "reason": reason}
    with app.audit.action("security.debug.on", args, dry_run=dry_run) as out:
        if dry_run:
            plan = switch.plan_on(
                span, scope=scope, debug_logging=logging_on, request_tracking=tracking_on
            )
        else:
            plan = switch.on(
                span, reason=reason, scope=scope, debug_logging=logging_on,
                request_tracking=tracking_on, actor=_actor(app),
            )  # fmt: skip
        out.detail = plan.describe()
    text = f"{'would switch ' if dry_run and plan.changes else ''}{plan.describe()}"
    app.output.data({"dry_run": dry_run, "command": "debug on", **plan.as_dict()}, text)


@debug.command("off")
@click.option("--service", "services", multiple=True,
              help="Only the switches naming it (and those for every service).")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Show the plan, change nothing.")
@pass_app
def debug_off_cmd(app: AppContext, services: tuple[str, ...], dry_run: bool) -> None:
    """Switch debug logging and request tracking off now (every switch, or those of
    --service). Idempotent."""
    from opslib.security import DebugSwitch

    scope = _debug_scope(services)
    switch = DebugSwitch(app.database, app.settings.security)
    with app.audit.action(
        "security.debug.off", {"services": list(services)}, dry_run=dry_run
    ) as out:
        plan = switch.plan_off(scope) if dry_run else switch.off(scope, actor=_actor(app))
        out.detail = plan.describe()
    text = f"{'would ' if dry_run and plan.changes else ''}{plan.describe()}"
    app.output.data({"dry_run": dry_run, "command": "debug off", **plan.as_dict()}, text)


@debug.command("status")
@pass_app
def debug_status_cmd(app: AppContext) -> None:
    """The debug switches; exit 0 off or within security.debug_hours, 2 one on for longer."""
    from opslib.security import DebugSwitch, check_debug_switches

    status = DebugSwitch(app.database, app.settings.security).status()
    result = check_debug_switches(status, app.settings)
    rows = result.tables[0].rows if result.tables else ()
    if rows or app.output.as_json:
        app.output.table(
            ("services", "what", "by", "reason", "since", "until", "state"),
            rows,
            payload={
                "message": result.message(),
                "switches": [s.as_dict(status.now) for s in status.switches],
            },
        )
    app.output.info(result.message())
    click.get_current_context().exit(int(result.severity))


@security.command("monitor")
@click.option("--incident", "number", type=int, help="The incident (default: the open one).")
@click.option("--for", "length", default="24h", show_default=True, help="How long to watch.")
@click.option("--every", default="5m", show_default=True, help="How often to look.")
@click.option("--once", is_flag=True, help="Look once and exit (tests, cron).")
@pass_app
def monitor_cmd(app: AppContext, number: int | None, length: str, every: str, once: bool) -> None:
    """Re-run the analysis of the access logs against the incident's findings and report
    recurrence: a blocked source still answered, a source it blocked back once the block
    ended, a new source with the incident's pattern. Exit 0 none, 1 recurred, 2 a blocked
    source still gets through."""
    from opslib.security import (
        monitor_for_recurrence,
        recent_analysis,
        watch_for_recurrence,
        worst_recurrence,
    )

    span, step = parse_duration(length), parse_duration(every)
    reports = []
    for report in watch_for_recurrence(
        lambda: monitor_for_recurrence(
            app.database, recent_analysis(app.settings), app.settings, incident=number
        ),
        every=step,
        length=span,
        once=once,
    ):
        reports.append(report)
        app.output.data(report.as_dict(), report.describe())
        for found in report.recurrences:
            app.output.info(f"  next: {found.action}")
    severity = worst_recurrence(reports)
    recurred = sum(len(r.recurrences) for r in reports)
    args = {"incident": number, "for": length, "every": every, "once": once}
    with app.audit.action("security.monitor", args, dry_run=False) as out:
        out.detail = f"{len(reports)} pass(es), {recurred} recurrence(s): {severity.name}"
    click.get_current_context().exit(int(severity))


# end of debug and monitor commands


def _show_version(app: AppContext, found: DocumentVersion | None, kind: str) -> None:
    if found is None:
        app.output.data({"kind": kind, "version": None, "body": {}}, f"no {kind} set (version 0)")
        return
    since = f"{found.activated_at:%Y-%m-%d %H:%M %Z}" if found.activated_at else "-"
    lines = [f"{kind} version {found.version} (set by {found.actor}, active since {since})"]
    lines += [f"  {k} = {_shown(v)}" for k, v in sorted(found.body.items())]
    app.output.data(found.as_dict(), "\n".join(lines))


def _shown(value: Any) -> str:
    return ",".join(str(v) for v in value) if isinstance(value, list) else str(value)


def _history(app: AppContext, store: VersionStore) -> None:
    versions = store.history()
    rows = [
        (
            v.version,
            "active" if v.active else "",
            v.actor,
            v.created_at.isoformat(timespec="seconds"),
            "; ".join(f"{k}={_shown(x)}" for k, x in sorted(v.body.items())),
        )
        for v in versions
    ]
    app.output.table(
        ("version", "state", "by", "created", "body"), rows, payload=[v.as_dict() for v in versions]
    )


def _changed(
    app: AppContext, kind: str, command: str, old: dict[str, Any], new: dict[str, Any],
    *, dry_run: bool, version: int | None,
) -> None:  # fmt: skip
    diff = diff_documents(old, new)
    head = (
        f"{'would set' if dry_run else 'set'} {kind} version {version}"
        if command == "set"
        else f"{'would roll' if dry_run else 'rolled'} {kind} back to version {version}"
    )
    text = "\n".join([head, *(f"  {line}" for line in diff or ["no change"])])
    app.output.data(
        {"dry_run": dry_run, "command": command, "kind": kind, "version": version,
         "diff": diff, "body": new},
        text,
    )  # fmt: skip


@security.group("rules")
def rules() -> None:
    """The request rules the API enforces (opslib.security.RequestRules), versioned."""


@rules.command("show")
@pass_app
def rules_show_cmd(app: AppContext) -> None:
    """The active request rules."""
    _show_version(app, VersionStore(app.database, "rules").active(), "rules")


@rules.command("history")
@pass_app
def rules_history_cmd(app: AppContext) -> None:
    """Every version of the rules, newest first."""
    _history(app, VersionStore(app.database, "rules"))


@rules.command("set")
@click.argument("assignments", nargs=-1, required=True)
@click.option("--dry-run", is_flag=True, help="Show the diff, change nothing.")
@pass_app
def rules_set_cmd(app: AppContext, assignments: tuple[str, ...], dry_run: bool) -> None:
    """Set rules as KEY=VALUE (rate_per_key, rate_per_source, window_seconds, denied_paths,
    denied_methods, required_headers, exempt_paths; lists comma-separated, an empty value goes
    back to the default) over the active version, as a new version."""

    def plan(current: DocumentVersion | None) -> dict[str, Any]:
        return plan_rules(current, assignments).model_dump(mode="json", exclude_defaults=True)

    _set(app, VersionStore(app.database, "rules"), assignments, plan, dry_run=dry_run)


def _set(
    app: AppContext,
    store: VersionStore,
    assignments: tuple[str, ...],
    plan: Callable[[DocumentVersion | None], dict[str, Any]],
    *,
    dry_run: bool,
) -> None:
    """Plan the next version from the active one, show the diff, store it unless dry-run."""
    action = f"security.{store.kind}.set"
    with app.audit.action(action, {"set": list(assignments)}, dry_run=dry_run) as out:
        current = store.active()
        old = dict(current.body) if current else {}
        new = plan(current)
        version = (current.version if current else 0) + 1
        if not dry_run:
            version = store.add(new, actor=_actor(app)).version
        diff = "; ".join(diff_documents(old, new)) or "no change"
        out.detail = f"{store.kind} version {version}: {diff}"
    _changed(app, store.kind, "set", old, new, dry_run=dry_run, version=version)


@rules.command("rollback")
@click.option("--to", "to", type=int, help="This version (default: the one before the active).")
@click.option("--dry-run", is_flag=True, help="Show the diff, change nothing.")
@pass_app
def rules_rollback_cmd(app: AppContext, to: int | None, dry_run: bool) -> None:
    """Make an earlier version of the rules the active one again (none is deleted)."""
    _rollback(app, VersionStore(app.database, "rules"), to, dry_run=dry_run)


def _rollback(app: AppContext, store: VersionStore, to: int | None, *, dry_run: bool) -> None:
    action = f"security.{store.kind}.rollback"
    with app.audit.action(action, {"to": to}, dry_run=dry_run) as out:
        current = store.active()
        target = store.rollback_target(to)
        if not dry_run:
            store.activate(target.version, actor=_actor(app))
        old = dict(current.body) if current else {}
        was = current.version if current else 0
        out.detail = f"{store.kind} version {target.version} active (was {was})"
    _changed(app, store.kind, "rollback", old, dict(target.body), dry_run=dry_run,
             version=target.version)  # fmt: skip


@security.group("policy")
def policy() -> None:
    """The security policy the suite, the blocklist and the keys use (over the config)."""


@policy.command("show")
@pass_app
def policy_show_cmd(app: AppContext) -> None:
    """The active policy and, per key, the value in force (policy or config)."""
    found = policy_store(app.database).active()
    settings = effective_settings(app.settings, app.database)
    sec = settings.security
    in_force = {
        "key_max_age_days": settings.threshold("security.key_age_days").crit,
        "key_age_warn_days": settings.threshold("security.key_age_days").warn,
        "key_overlap": sec.key_overlap,
        "allowlist": list(sec.allowlist),
        "default_block": sec.default_block,
        "max_legit_share": sec.max_legit_share,
        "request_rate_warn": settings.threshold("security.request_rate").warn,
        "request_rate_crit": settings.threshold("security.request_rate").crit,
        "auth_failures_warn": settings.threshold("security.auth_failures").warn,
        "auth_failures_crit": settings.threshold("security.auth_failures").crit,
    }
    body = dict(found.body) if found else {}
    rows = [(k, _shown(v), "policy" if k in body else "config") for k, v in in_force.items()]
    if app.output.as_json:
        app.output.data({"version": found.version if found else None, "policy": body,
                         "in_force": in_force})  # fmt: skip
        return
    app.output.table(("key", "value", "from"), rows)
    app.output.info(f"policy version {found.version if found else 0}")


@policy.command("history")
@pass_app
def policy_history_cmd(app: AppContext) -> None:
    """Every version of the policy, newest first."""
    _history(app, policy_store(app.database))


@policy.command("set")
@click.argument("assignments", nargs=-1, required=True)
@click.option("--dry-run", is_flag=True, help="Show the diff, change nothing.")
@pass_app
def policy_set_cmd(app: AppContext, assignments: tuple[str, ...], dry_run: bool) -> None:
    """Set KEY=VALUE (key_max_age_days, key_age_warn_days, key_overlap, allowlist,
    default_block, max_legit_share, request_rate_warn|crit, auth_failures_warn|crit; an empty
    value unsets a key: the config holds again) as a new version."""

    def plan(current: DocumentVersion | None) -> dict[str, Any]:
        return plan_policy(app.settings, current, assignments).values()

    _set(app, policy_store(app.database), assignments, plan, dry_run=dry_run)


@policy.command("rollback")
@click.option("--to", "to", type=int, help="This version (default: the one before the active).")
@click.option("--dry-run", is_flag=True, help="Show the diff, change nothing.")
@pass_app
def policy_rollback_cmd(app: AppContext, to: int | None, dry_run: bool) -> None:
    """Make an earlier version of the policy the active one again."""
    _rollback(app, policy_store(app.database), to, dry_run=dry_run)


# security patch (opslib.security._patch)


@security.command("patch")
@click.argument("service")
@click.option("--image", help="The patched image (default: the one the containers name, rebuilt).")
@click.option("--health-url", help="The service's health endpoint, asked after each replica"
              " (default security.health_urls.SERVICE).")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Show the plan, change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def patch_cmd(
    app: AppContext,
    *,
    service: str,
    image: str | None,
    health_url: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Roll a patched image (built locally, never pulled) out to SERVICE one replica at a
    time through the platform adapter: each recreated replica must be running, healthy and
    answer --health-url before the next; the first failure stops it and the replicas not
    reached keep their image (exit 3). Audited; noted in the open incident."""
    from opslib.connect import open_platform
    from opslib.security import apply_patch, note_in_incident, plan_patch

    app.output.as_json = app.output.as_json or as_json
    health_url = health_url or app.settings.security.health_urls.get(service)
    args = {"service": service, "image": image, "health_url": health_url}
    with open_platform(app.settings) as platform:
        plan = plan_patch(platform, service, image, health_url)
        with app.audit.action("security.patch", args, dry_run=dry_run) as out:
            out.detail = plan.describe()
            if dry_run:
                app.output.data({"dry_run": True, **plan.as_dict()}, "would:\n" + plan.describe())
                return
            report = apply_patch(platform, app.settings, plan)
            out.detail = report.describe()
            payload = {"dry_run": False, **report.as_dict()}
            if report.failed:
                number = note_in_incident(
                    app.database,
                    f"patch of {service} to {plan.image} stopped at {report.failed};"
                    f" still on the old image: {', '.join(report.remaining) or 'none'}",
                )
                app.output.data(payload | {"incident": number}, report.describe())
                raise OpsError(f"security patch {service} stopped: {report.failed}")
    app.output.data(payload, report.describe() or plan.describe())
