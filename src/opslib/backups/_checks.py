"""The monthly.backups checks (runbook Monthly 2) as CheckResults."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from opslib.adapters import Database
from opslib.backups._catalog import Catalog
from opslib.backups._integrity import check_integrity
from opslib.backups._policy import policy_in_force
from opslib.backups._prune import plan_prune
from opslib.backups._scratch import list_scratch
from opslib.backups._tools import tools_for
from opslib.backups._verify import verify_backup
from opslib.config import Settings
from opslib.errors import OpsError
from opslib.results import CheckResult, Measurement, Table

__all__ = [
    "backup_integrity",
    "backup_recency",
    "restore_drill",
    "retention_status",
    "scratch_leftovers",
    "verified_recency",
]

_SOP = "monthly.backups"


@dataclass(frozen=True)
class _Age:
    title: str
    measurement: str
    threshold: str
    seconds_per_unit: float
    verified_only: bool
    empty: str
    remediation: str


_NEWEST = _Age(
    "newest backup within the recovery point objective",
    "newest_backup_age",
    "backups.newest_age",
    3600,
    False,
    "no complete backup at all",
    "opslib backup create (and check the backup schedule)",
)
_VERIFIED = _Age(
    "newest verified backup recent enough",
    "newest_verified_age",
    "backups.verified_age",
    86400,
    True,
    "no backup has passed a restore",
    "opslib backup verify (restores the newest backup into a scratch database)",
)


def _age_check(db: Database, settings: Settings, now: datetime | None, age: _Age) -> CheckResult:
    try:
        records = Catalog(db, settings.backups.backup_dir).complete_backups()
    except OpsError as exc:
        return CheckResult.unknown(_SOP, age.title, str(exc))
    threshold = settings.threshold(age.threshold)
    at = now or datetime.now(UTC)
    found = [r for r in records if r.verification == "ok" or not age.verified_only]
    newest = found[0] if found else None
    if newest is None or newest.created_at is None:
        measurement = Measurement(age.measurement, float("inf"), threshold, note=age.empty)
    else:
        value = (at - newest.created_at).total_seconds() / age.seconds_per_unit
        measurement = Measurement(age.measurement, value, threshold, newest.name)
    return CheckResult(_SOP, age.title, (measurement,), remediation=age.remediation)


def backup_recency(db: Database, settings: Settings, now: datetime | None = None) -> CheckResult:
    """The newest complete backup is younger than the recovery point objective
    (threshold ``backups.newest_age``, crit 26 h)."""
    return _age_check(db, settings, now, _NEWEST)


def verified_recency(db: Database, settings: Settings, now: datetime | None = None) -> CheckResult:
    """The newest backup proven by a restore is younger than the limit
    (threshold ``backups.verified_age``, crit 35 days)."""
    return _age_check(db, settings, now, _VERIFIED)


def backup_integrity(db: Database, settings: Settings) -> CheckResult:
    """Every retained backup's checksums, dump listing and tarball are intact."""
    title = "integrity of every retained backup"
    try:
        records = Catalog(db, settings.backups.backup_dir).complete_backups()
        tools = tools_for(db, settings.backups)
    except OpsError as exc:
        return CheckResult.unknown(_SOP, title, str(exc))
    reports = [check_integrity(r.path, tools, r) for r in records]
    bad = [r for r in reports if not r.ok]
    table = Table(
        ("backup", "state", "MB", "problems"),
        tuple(
            (
                r.name,
                "ok" if r.ok else "CORRUPT",
                f"{r.bytes_read / 1e6:.1f}",
                "; ".join(r.problems),
            )
            for r in reports
        ),
        title="retained backups",
    )
    note = "; ".join(f"{r.name}: {r.problems[0]}" for r in bad[:3])
    return CheckResult(
        _SOP,
        title,
        (
            Measurement(
                "corrupt_backups",
                float(len(bad)),
                settings.threshold("backups.integrity_failures"),
                f"{len(reports)} checked",
                note,
            ),
        ),
        remediation="opslib backup integrity; replace corrupt backups with opslib backup create",
        tables=(table,),
    )


def restore_drill(db: Database, settings: Settings) -> CheckResult:
    """The newest backup restores into a scratch database and matches its manifest."""
    title = "restore drill of the newest backup"
    try:
        report = verify_backup(db, settings.backups, tables=settings.tables)
    except OpsError as exc:
        return CheckResult.unknown(_SOP, title, str(exc))
    return CheckResult(
        _SOP,
        title,
        (
            Measurement(
                "restore_problems",
                float(len(report.problems)),
                settings.threshold("backups.restore_failures"),
                report.name,
                "; ".join(report.problems[:3]),
            ),
        ),
        remediation="opslib backup verify -v; take a new backup with opslib backup create",
    )


def retention_status(db: Database, settings: Settings, now: datetime | None = None) -> CheckResult:
    """The catalogue matches the directory, enough backups are kept, nothing is overdue."""
    title = "backup retention satisfied"
    try:
        consistency = Catalog(db, settings.backups.backup_dir).consistency()
        plan = plan_prune(db, settings.backups, now)
        minimum = policy_in_force(db, settings.backups).policy.min_count
    except OpsError as exc:
        return CheckResult.unknown(_SOP, title, str(exc))
    mismatches = len(consistency.missing_on_disk) + len(consistency.unknown_on_disk)
    shortfall = max(0, minimum - len(plan.decisions))
    return CheckResult(
        _SOP,
        title,
        (
            Measurement(
                "catalogue_mismatches",
                float(mismatches),
                settings.threshold("backups.catalogue_mismatches"),
                note="; ".join(consistency.problems[:3]),
            ),
            Measurement(
                "retained_shortfall",
                float(shortfall),
                settings.threshold("backups.retained_shortfall"),
                note=f"{len(plan.decisions)} retained, minimum {minimum}",
            ),
            Measurement(
                "prune_pending",
                float(len(plan.delete)),
                settings.threshold("backups.prune_pending"),
                note=plan.refused,
            ),
        ),
        remediation="opslib backup list; opslib backup prune --dry-run, then opslib backup prune",
    )


def scratch_leftovers(db: Database, settings: Settings) -> CheckResult:
    """No scratch database left behind by a restore drill that was killed (threshold
    ``backups.scratch_orphans``); those of drills running now are listed, not counted."""
    title = "no scratch databases left by killed restore drills"
    try:
        found = list_scratch(db)
    except OpsError as exc:
        return CheckResult.unknown(_SOP, title, str(exc))
    orphans = [d for d in found if not d.owned]
    note = ""
    if orphans:
        size = sum(d.bytes for d in orphans) / 1e6
        note = f"{', '.join(d.name for d in orphans[:3])}: {size:.1f} MB in all"
    table = Table(
        ("database", "MB", "state"),
        tuple(
            (d.name, f"{d.bytes / 1e6:.1f}", "drill running" if d.owned else "ORPHAN")
            for d in found
        ),
        title="scratch databases of restore drills",
    )
    return CheckResult(
        _SOP,
        title,
        (
            Measurement(
                "orphan_scratch_databases",
                float(len(orphans)),
                settings.threshold("backups.scratch_orphans"),
                f"{len(found)} scratch database(s)",
                note,
            ),
        ),
        remediation="opslib backup integrity (drops scratch databases whose drill is gone)",
        tables=(table,) if found else (),
    )
