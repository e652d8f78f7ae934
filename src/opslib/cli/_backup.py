"""``opslib backup``: create, verify, integrity, prune, emergency, list."""

from __future__ import annotations

import click

from opslib import backups
from opslib.cli._context import AppContext, pass_app

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
    if app.output.as_json:
        app.output.data(
            {
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
