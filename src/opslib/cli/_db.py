"""``opslib db``: schema migrations."""

from __future__ import annotations

import click

from opslib.cli._context import AppContext, pass_app
from opslib.cli._db_activity import COMMANDS as ACTIVITY_COMMANDS
from opslib.cli._db_maintain import COMMANDS as MAINTAIN_COMMANDS
from opslib.migrations import MigrationSet, applied, available, migrate, pending

__all__ = ["db"]


@click.group()
def db() -> None:
    """Database schema and maintenance; activity and slow queries under load."""


for _command in (*ACTIVITY_COMMANDS, *MAINTAIN_COMMANDS):
    db.add_command(_command)


@db.command("migrate")
@click.option(
    "--platform", is_flag=True, help="Also create the platform tables (lab databases only)."
)
@click.option("--dry-run", is_flag=True, help="List pending migrations without applying them.")
@pass_app
def migrate_cmd(app: AppContext, platform: bool, dry_run: bool) -> None:
    """Apply pending migrations of the opslib schema, under a lock."""
    sets: tuple[MigrationSet, ...] = ("opslib", "platform") if platform else ("opslib",)
    if dry_run:
        todo = [m for s in sets for m in pending(app.database, s)]
        # A never-migrated database has no audit table yet, and a dry run must not create one.
        if applied(app.database, "opslib"):
            app.audit.record(
                "db.migrate",
                {"platform": platform},
                dry_run=True,
                outcome="ok",
                detail=f"would apply {len(todo)}",
            )
    else:
        with app.audit.action("db.migrate", {"platform": platform}, dry_run=False) as outcome:
            todo = migrate(app.database, sets)
            outcome.detail = f"applied {len(todo)}"
    names = [f"{m.set}/{m.version:04d}_{m.name}" for m in todo]
    verb = "would apply" if dry_run else "applied"
    app.output.data(
        {"dry_run": dry_run, verb.replace(" ", "_"): names},
        f"{verb} {len(names)} migration(s)" + "".join(f"\n  {n}" for n in names),
    )


@db.command("status")
@pass_app
def status_cmd(app: AppContext) -> None:
    """Show applied and pending migrations."""
    rows = []
    for migration_set in ("opslib", "platform"):
        todo = {m.version for m in pending(app.database, migration_set)}
        for m in available(migration_set):
            rows.append(
                (
                    migration_set,
                    f"{m.version:04d}",
                    m.name,
                    "pending" if m.version in todo else "applied",
                )
            )
    app.output.table(("set", "version", "name", "state"), rows)
