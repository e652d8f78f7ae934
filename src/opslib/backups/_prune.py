"""``prune``: apply the retention plan to the catalogue and the directory, under the lock."""

from __future__ import annotations

from datetime import UTC, datetime

from opslib.adapters import Database
from opslib.backups._catalog import Catalog
from opslib.backups._policy import policy_in_force
from opslib.backups._retention import Candidate, RetentionPlan, plan_retention
from opslib.backups._store import remove_tree, writer_lock
from opslib.config import BackupSettings

__all__ = ["plan_prune", "prune"]


def plan_prune(
    db: Database, settings: BackupSettings, now: datetime | None = None
) -> RetentionPlan:
    """The retention plan for the catalogued, complete backups of ``settings.backup_dir``,
    by the policy in force (the stored one, else the config file's)."""
    catalog = Catalog(db, settings.backup_dir)
    candidates = [
        Candidate(r.name, r.created_at or r.started_at, r.kind, r.verification)
        for r in catalog.complete_backups()
    ]
    policy = policy_in_force(db, settings).policy
    return plan_retention(candidates, policy, now or datetime.now(UTC))


def prune(
    db: Database, settings: BackupSettings, *, dry_run: bool, now: datetime | None = None
) -> RetentionPlan:
    """Delete what the plan lets go (nothing with ``dry_run``); return the plan."""
    if dry_run:
        return plan_prune(db, settings, now)
    catalog = Catalog(db, settings.backup_dir)
    with writer_lock(settings.backup_dir):
        plan = plan_prune(db, settings, now)
        for name in plan.delete:
            path = settings.backup_dir / name
            if path.exists():
                remove_tree(path)
            catalog.mark_deleted(name)
    return plan
