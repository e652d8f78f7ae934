"""``opslib backup``: create, verify, integrity, prune, emergency, list, policy."""

from __future__ import annotations

from typing import Any

import click

from opslib import backups
from opslib.audit import current_actor
from opslib.capacity import PolicyCost, capacity_report, policy_cost
from opslib.cli._context import AppContext, pass_app
from opslib.errors import InputError, UnsafeActionError

__all__ = ["backup"]


@click.group()
def backup() -> None:
    """Backups: create, prove restorable, check integrity, keep the right ones."""


def _progress(app: AppContext) -> backups.Progress | None:
    return app.output.info if app.output.isatty() else None


def _create(app: AppContext, kind: backups.BackupKind, dry_run: bool) -> None:
    settings = app.settings.backups
    action = "backup.emergency" if kind == "emergency" else "backup.create"
    if dry_run:
        plan = backups.plan_create(app.database, settings)
        with app.audit.action(action, {"kind": kind}, dry_run=True) as outcome:
            outcome.detail = plan
        app.output.data({"dry_run": True, "would": plan}, f"would {plan}")
        return
    with app.audit.action(action, {"kind": kind}, dry_run=False) as outcome:
        made = backups.create_backup(
            app.database,
            settings,
            kind=kind,
            progress=_progress(app),
            tables=app.settings.tables,
        )
        outcome.detail = f"created {made.name}"
    for line in made.recovered:
        app.output.info(f"settled an interrupted backup: {line}")
    files = {f.name: {"bytes": f.bytes, "sha256": f.sha256} for f in made.manifest.files}
    app.output.data(
        {
            "name": made.name,
            "path": str(made.path),
            "kind": kind,
            "files": files,
            "row_counts": made.manifest.row_counts,
            "newest_checked_at": made.manifest.newest_checked_at,
            "seconds": round(made.seconds, 3),
        },
        f"created {made.name} in {made.seconds:.1f} s "
        + " ".join(f"{n}={v}" for n, v in sorted(made.manifest.row_counts.items())),
    )


@backup.command("create")
@click.option("--dry-run", is_flag=True, help="Check tools and directory; write nothing.")
@pass_app
def create_cmd(app: AppContext, dry_run: bool) -> None:
    """pg_dump -Fc plus a tarball of the config paths, written atomically, catalogued."""
    _create(app, "regular", dry_run)


@backup.command("emergency")
@click.option("--dry-run", is_flag=True, help="Check tools and directory; write nothing.")
@pass_app
def emergency_cmd(app: AppContext, dry_run: bool) -> None:
    """The fastest consistent dump now, tagged emergency and exempt from pruning for a while."""
    _create(app, "emergency", dry_run)


@backup.command("list")
@pass_app
def list_cmd(app: AppContext) -> None:
    """Catalogued backups, and where the catalogue and the directory disagree."""
    catalog = backups.Catalog(app.database, app.settings.backups.backup_dir)
    rows = [
        (
            r.name,
            r.kind,
            r.created_at,
            r.dump_bytes,
            r.verification,
            r.verified_at,
        )
        for r in catalog.complete_backups()
    ]
    consistency = catalog.consistency()
    policy = backups.policy_in_force(app.database, app.settings.backups)
    if app.output.as_json:
        app.output.data(
            {
                "policy": policy.as_dict(),
                "backups": [
                    dict(
                        zip(
                            (
                                "name",
                                "kind",
                                "created_at",
                                "dump_bytes",
                                "verification",
                                "verified_at",
                            ),
                            r,
                            strict=True,
                        )
                    )
                    for r in rows
                ],
                "problems": consistency.problems,
            }
        )
    else:
        app.output.table(
            ("name", "kind", "created_at", "dump_bytes", "verification", "verified_at"), rows
        )
        for problem in consistency.problems:
            app.output.info(f"inconsistent: {problem}")
        p = policy.policy
        app.output.info(
            f"retention: keep_daily={p.daily} keep_weekly={p.weekly} keep_monthly={p.monthly}"
            f" min_count={p.min_count} ({policy.source}"
            + (
                f", set by {policy.set_by} at {policy.set_at:%Y-%m-%d %H:%M}"
                if policy.set_at
                else ""
            )
            + ")"
        )
    if not consistency.ok:
        click.get_current_context().exit(2)


@backup.command("verify")
@click.argument("name", required=False)
@click.option(
    "--dry-run", is_flag=True, help="Say which backup would be restored; restore nothing."
)
@pass_app
def verify_cmd(app: AppContext, name: str | None, dry_run: bool) -> None:
    """Restore the newest (or NAME) backup into a scratch database and check its data."""
    settings = app.settings.backups
    if dry_run:
        record = backups.select_backup(backups.Catalog(app.database, settings.backup_dir), name)
        with app.audit.action("backup.verify", {"name": record.name}, dry_run=True) as outcome:
            outcome.detail = f"would restore {record.name}"
        app.output.data(
            {"dry_run": True, "name": record.name},
            f"would restore {record.name} into a scratch database and drop it",
        )
        return
    with app.audit.action("backup.verify", {"name": name}, dry_run=False) as outcome:
        report = backups.verify_backup(
            app.database, settings, name, progress=_progress(app), tables=app.settings.tables
        )
        outcome.detail = f"{report.name}: {'ok' if report.ok else 'failed'}"
    app.output.data(
        {
            "name": report.name,
            "ok": report.ok,
            "problems": list(report.problems),
            "row_counts": report.row_counts,
            "newest_checked_at": report.newest_checked_at,
            "seconds": round(report.seconds, 3),
        },
        f"{report.name}: "
        + ("restored and checked" if report.ok else "verification FAILED")
        + f" in {report.seconds:.1f} s"
        + "".join(f"\n  {p}" for p in report.problems),
    )
    if not report.ok:
        click.get_current_context().exit(2)


@backup.command("integrity")
@click.argument("name", required=False)
@pass_app
def integrity_cmd(app: AppContext, name: str | None) -> None:
    """Recompute checksums, list each dump, read each tarball: every retained backup (or NAME)."""
    settings = app.settings.backups
    catalog = backups.Catalog(app.database, settings.backup_dir)
    records = (
        [backups.select_backup(catalog, name)] if name is not None else catalog.complete_backups()
    )
    tools = backups.tools_for(app.database, settings)
    for line in backups.drop_orphan_scratch(app.database).lines():  # killed drills' leftovers
        app.output.info(line)
    reports = []
    for record in records:
        if app.output.isatty():
            app.output.info(f"checking {record.name}")
        reports.append(backups.check_integrity(record.path, tools, record))
    # A named backup is judged alone; without a name the whole directory must agree too.
    consistency = catalog.consistency() if name is None else backups.Consistency()
    rows = [
        (
            r.name,
            "ok" if r.ok else "CORRUPT",
            f"{r.bytes_read / 1e6:.1f}",
            f"{r.bytes_read / 1e6 / max(r.seconds, 1e-9):.0f}",
            "; ".join(r.problems),
        )
        for r in reports
    ]
    payload = {
        "backups": [
            {"name": r.name, "ok": r.ok, "problems": list(r.problems), "bytes": r.bytes_read}
            for r in reports
        ],
        "catalogue_problems": consistency.problems,
    }
    app.output.table(("name", "state", "MB", "MB/s", "problems"), rows, payload=payload)
    if not app.output.as_json:
        for problem in consistency.problems:
            app.output.info(f"inconsistent: {problem}")
    if not all(r.ok for r in reports) or not consistency.ok:
        click.get_current_context().exit(2)


@backup.command("prune")
@click.option("--dry-run", is_flag=True, help="List what would go and why; delete nothing.")
@pass_app
def prune_cmd(app: AppContext, dry_run: bool) -> None:
    """Grandfather-father-son retention: keep N daily, weekly, monthly backups."""
    settings = app.settings.backups
    with app.audit.action("backup.prune", {}, dry_run=dry_run) as outcome:
        plan = backups.prune(app.database, settings, dry_run=dry_run)
        outcome.detail = f"deleted {len(plan.delete)}: {', '.join(plan.delete)}"[:2000]
        if plan.refused:
            outcome.detail = plan.refused
    verb = "would delete" if dry_run else "deleted"
    rows = [(d.name, "keep" if d.keep else verb, "; ".join(d.reasons)) for d in plan.decisions]
    payload = {
        "dry_run": dry_run,
        "refused": plan.refused,
        "keep": list(plan.keep),
        verb.replace(" ", "_"): list(plan.delete),
        "decisions": [
            {"name": d.name, "keep": d.keep, "reasons": list(d.reasons)} for d in plan.decisions
        ],
    }
    app.output.table(("name", "decision", "why"), rows, payload=payload)
    if plan.refused:
        app.output.info(f"nothing deleted: {plan.refused}")
        click.get_current_context().exit(1)


def _assignments(pairs: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InputError(f"--set {pair!r}: expected NAME=VALUE, e.g. keep_daily=7")
        found[key.strip()] = value.strip()
    return found


def _rpo_hours(app: AppContext) -> float | None:
    return app.settings.threshold("backups.newest_age").crit


def _cost_payload(cost: PolicyCost) -> dict[str, Any]:
    return {
        "policy": cost.policy.as_dict(),
        "keeps": list(cost.kept),
        "would_prune": list(cost.deleted),
        "kept_bytes": cost.kept_bytes,
        "newest_backup_bytes": cost.newest_bytes,
        "backup_volume": {
            "path": cost.volume.path,
            "room_bytes": cost.capacity,
            "note": cost.volume.note,
        },
        "projection": [
            {
                "days": h.days,
                "on": h.on.isoformat(),
                "backups": h.backups,
                "bytes": round(h.bytes),
                "bytes_high": round(h.high),
            }
            for h in cost.horizons
        ],
        "note": cost.note,
    }


def _cost_text(cost: PolicyCost, heading: str) -> str:
    p = cost.policy.policy
    gib = 2**30
    lines = [
        f"{heading}: keep_daily={p.daily} keep_weekly={p.weekly} keep_monthly={p.monthly}"
        f" min_count={p.min_count}"
        f" emergency_exempt_hours={p.emergency_exempt.total_seconds() / 3600:g}"
        f" ({cost.policy.source})",
        f"keeps {len(cost.kept)} of today's backups ({cost.kept_bytes / gib:.2f} GiB):"
        f" {', '.join(cost.kept) or 'none'}",
    ]
    if cost.deleted:
        lines.append(f"would prune {len(cost.deleted)}: {', '.join(cost.deleted)}")
    room = "unknown" if cost.capacity is None else f"{cost.capacity / gib:.2f} GiB"
    lines.append(f"backup volume {cost.volume.path}: room for backups {room}")
    lines += [
        f"  in {h.days} days ({h.on}): {h.backups} backups, {h.bytes / gib:.2f} GiB"
        f" (up to {h.high / gib:.2f})"
        for h in cost.horizons
    ]
    if cost.note:
        lines.append(cost.note)
    return "\n".join(lines)


@backup.command("policy")
@click.option(
    "--set",
    "pairs",
    multiple=True,
    metavar="NAME=VALUE",
    help="Store a new policy: keep_daily, keep_weekly, keep_monthly, min_count,"
    " emergency_exempt_hours (repeat; unset names keep their value in force).",
)
@click.option("--dry-run", is_flag=True, help="With --set: judge and project it; store nothing.")
@pass_app
def policy_cmd(app: AppContext, pairs: tuple[str, ...], dry_run: bool) -> None:
    """The retention policy in force, what it keeps and its disk cost; --set stores a new one."""
    settings = app.settings
    current = backups.policy_in_force(app.database, settings.backups)
    report = capacity_report(app.database, settings)
    volume = report.volumes[1]
    line = report.line("database size")
    horizons = settings.capacity.horizons
    if not pairs:
        cost = policy_cost(app.database, settings, current, volume, line, horizons=horizons)
        app.output.data(_cost_payload(cost), _cost_text(cost, "policy in force"))
        return
    changes = _assignments(pairs)
    proposed = backups.revise_policy(current.policy, changes)
    refusals = backups.policy_refusals(proposed, settings.backups, _rpo_hours(app))
    with app.audit.action("backup.policy", changes, dry_run=dry_run) as outcome:
        if refusals:
            raise UnsafeActionError("policy refused: " + "; ".join(refusals))
        if not dry_run:
            set_at = backups.store_policy(
                app.database, proposed, app.settings.actor or current_actor()
            )
            outcome.detail = f"stored at {set_at:%Y-%m-%d %H:%M:%S}: " + ", ".join(
                f"{k}={v}" for k, v in sorted(changes.items())
            )
        else:
            outcome.detail = "would store " + ", ".join(f"{k}={v}" for k, v in changes.items())
    shown = backups.PolicyInForce(
        proposed, "proposed" if dry_run else "stored (opslib backup policy --set)"
    )
    cost = policy_cost(app.database, settings, shown, volume, line, horizons=horizons)
    heading = "would store" if dry_run else "stored"
    payload = {"dry_run": dry_run, "previous": current.as_dict(), **_cost_payload(cost)}
    app.output.data(payload, _cost_text(cost, heading))
