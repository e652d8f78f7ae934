"""Backups (runbook Monthly 2): create, verify by restoring, check integrity, retention."""

from opslib.backups._catalog import BackupRecord, Catalog, Consistency, Verification
from opslib.backups._checks import (
    backup_integrity,
    backup_recency,
    restore_drill,
    retention_status,
    scratch_leftovers,
    verified_recency,
)
from opslib.backups._create import CreatedBackup, Progress, create_backup, plan_create
from opslib.backups._integrity import IntegrityReport, check_integrity
from opslib.backups._manifest import BackupKind, FileEntry, Manifest, read_manifest
from opslib.backups._policy import (
    PolicyInForce,
    policy_in_force,
    policy_refusals,
    revise_policy,
    steady_state_count,
    store_policy,
)
from opslib.backups._prune import plan_prune, prune
from opslib.backups._retention import (
    Candidate,
    Decision,
    RetentionPlan,
    RetentionPolicy,
    plan_retention,
)
from opslib.backups._scratch import (
    ScratchCleanup,
    ScratchDatabase,
    drop_orphan_scratch,
    list_scratch,
)
from opslib.backups._tools import PgTools, find_tools, tools_for
from opslib.backups._verify import VerifyReport, select_backup, verify_backup

__all__ = [
    "BackupKind",
    "BackupRecord",
    "Candidate",
    "Catalog",
    "Consistency",
    "CreatedBackup",
    "Decision",
    "FileEntry",
    "IntegrityReport",
    "Manifest",
    "PgTools",
    "PolicyInForce",
    "Progress",
    "RetentionPlan",
    "RetentionPolicy",
    "ScratchCleanup",
    "ScratchDatabase",
    "Verification",
    "VerifyReport",
    "backup_integrity",
    "backup_recency",
    "check_integrity",
    "create_backup",
    "drop_orphan_scratch",
    "find_tools",
    "list_scratch",
    "plan_create",
    "plan_prune",
    "plan_retention",
    "policy_in_force",
    "policy_refusals",
    "prune",
    "read_manifest",
    "restore_drill",
    "retention_status",
    "revise_policy",
    "scratch_leftovers",
    "select_backup",
    "steady_state_count",
    "store_policy",
    "tools_for",
    "verified_recency",
    "verify_backup",
]
