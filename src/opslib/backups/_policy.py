"""The retention policy in force: the config file's, or the newest one stored by
``opslib backup policy --set`` in ``opslib.backup_policies`` (which overrides the file).

A new policy is refused when it keeps fewer backups than ``min_count`` once backups are daily,
lowers ``min_count`` below the config file's (the floor), or leaves the most recent backups
further apart than the recovery point objective (threshold ``backups.newest_age``, crit): with
``keep_daily = 0`` the backup before the newest is a week old, so one bad newest backup loses
more than the RPO allows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from opslib.adapters import Database
from opslib.backups._retention import Candidate, RetentionPolicy, plan_retention
from opslib.config import BackupSettings
from opslib.errors import InputError

__all__ = [
    "PolicyInForce",
    "policy_in_force",
    "policy_refusals",
    "revise_policy",
    "steady_state_count",
    "store_policy",
]

_KEYS = {
    "keep_daily": "daily",
    "keep_weekly": "weekly",
    "keep_monthly": "monthly",
    "min_count": "min_count",
    "emergency_exempt_hours": "emergency_exempt",
}
_LIMITS = {"daily": 3660, "weekly": 520, "monthly": 240, "min_count": 10000}
_SIMULATED_DAYS = 3 * 366 + 31


@dataclass(frozen=True)
class PolicyInForce:
    """The policy retention uses now and where it comes from (``set_at`` None: the config
    file's, no stored policy)."""

    policy: RetentionPolicy
    source: str
    set_at: datetime | None = None
    set_by: str | None = None

    def as_dict(self) -> dict[str, object]:
        """The policy in the config file's terms, with its source."""
        p = self.policy
        return {
            "keep_daily": p.daily,
            "keep_weekly": p.weekly,
            "keep_monthly": p.monthly,
            "min_count": p.min_count,
            "emergency_exempt_hours": p.emergency_exempt.total_seconds() / 3600,
            "source": self.source,
            "set_at": self.set_at,
            "set_by": self.set_by,
        }


def _stored_table_exists(db: Database) -> bool:
    row = db.fetch_one("SELECT to_regclass('opslib.backup_policies') IS NOT NULL AS present")
    return bool(row and row["present"])


def policy_in_force(db: Database, settings: BackupSettings) -> PolicyInForce:
    """The newest stored policy, else the config file's (also when migration 0015 is not
    applied yet: ``source`` says so)."""
    configured = RetentionPolicy.from_settings(settings)
    if not _stored_table_exists(db):
        return PolicyInForce(configured, "config file (opslib migrations not applied)")
    row = db.fetch_one(
        "SELECT keep_daily, keep_weekly, keep_monthly, min_count, emergency_exempt_hours,"
        " set_at, set_by FROM opslib.backup_policies ORDER BY id DESC LIMIT 1"
    )
    if row is None:
        return PolicyInForce(configured, "config file")
    policy = RetentionPolicy(
        daily=int(row["keep_daily"]),
        weekly=int(row["keep_weekly"]),
        monthly=int(row["keep_monthly"]),
        min_count=int(row["min_count"]),
        emergency_exempt=timedelta(hours=float(row["emergency_exempt_hours"])),
    )
    return PolicyInForce(
        policy, "stored (opslib backup policy --set)", row["set_at"], row["set_by"]
    )


def revise_policy(current: RetentionPolicy, assignments: Mapping[str, str]) -> RetentionPolicy:
    """``current`` with ``keep_daily=N``-style assignments applied; InputError on an unknown
    name or a value out of range."""
    numbers: dict[str, float] = {}
    for key, text in assignments.items():
        attr = _KEYS.get(key)
        if attr is None:
            raise InputError(f"unknown policy setting {key!r}: use one of {', '.join(_KEYS)}")
        try:
            number = float(text) if attr == "emergency_exempt" else int(text)
        except ValueError:
            raise InputError(f"{key}={text!r}: not a number") from None
        low = 1 if attr == "min_count" else 0
        high = _LIMITS.get(attr, 24 * 366)
        if not low <= number <= high:
            raise InputError(f"{key}={text}: must be between {low} and {high}")
        numbers[attr] = number
    exempt = numbers.get("emergency_exempt")
    return RetentionPolicy(
        daily=int(numbers.get("daily", current.daily)),
        weekly=int(numbers.get("weekly", current.weekly)),
        monthly=int(numbers.get("monthly", current.monthly)),
        min_count=int(numbers.get("min_count", current.min_count)),
        emergency_exempt=current.emergency_exempt if exempt is None else timedelta(hours=exempt),
    )


def steady_state_count(policy: RetentionPolicy, *, every: timedelta = timedelta(days=1)) -> int:
    """Backups the policy keeps once one has been taken every ``every`` for years."""
    now = datetime(2026, 1, 1, 3, tzinfo=UTC)
    count = int(timedelta(days=_SIMULATED_DAYS) / every)
    made = [Candidate(f"b{n:05d}", now - n * every, verification="ok") for n in range(count)]
    return len(plan_retention(made, policy, now).keep)


def policy_refusals(
    policy: RetentionPolicy, settings: BackupSettings, rpo_hours: float | None
) -> list[str]:
    """Why ``policy`` may not be stored (empty: it may); ``rpo_hours`` is the recovery point
    objective (threshold ``backups.newest_age``'s crit), None when not set."""
    problems = []
    if policy.min_count < settings.min_count:
        problems.append(
            f"min_count {policy.min_count} is below the config file's backups.min_count"
            f" {settings.min_count} (the floor)"
        )
    kept = steady_state_count(replace(policy, min_count=1))
    if kept < policy.min_count:
        problems.append(
            f"keeps {kept} backup(s) with daily backups, fewer than min_count {policy.min_count}"
        )
    spacing = 24.0 if policy.daily else 7 * 24.0 if policy.weekly else 31 * 24.0
    if rpo_hours is not None and policy.daily == 0 and spacing > rpo_hours:
        problems.append(
            f"keep_daily=0 leaves the backup before the newest up to {spacing:.0f} h old, beyond"
            f" the recovery point objective of {rpo_hours:g} h (backups.newest_age)"
        )
    return problems


def store_policy(db: Database, policy: RetentionPolicy, actor: str) -> datetime:
    """Store ``policy`` as the one in force; return when."""
    row = db.fetch_one(
        "INSERT INTO opslib.backup_policies (keep_daily, keep_weekly, keep_monthly, min_count,"
        " emergency_exempt_hours, set_by) VALUES (%s, %s, %s, %s, %s, %s) RETURNING set_at",
        (
            policy.daily,
            policy.weekly,
            policy.monthly,
            policy.min_count,
            policy.emergency_exempt.total_seconds() / 3600,
            actor,
        ),
    )
    assert row is not None
    at: datetime = row["set_at"]
    return at
