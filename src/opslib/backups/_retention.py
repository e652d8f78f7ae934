"""Grandfather-father-son retention as a pure plan: what stays, what goes, and why."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from opslib.backups._catalog import Verification
from opslib.backups._manifest import BackupKind
from opslib.config import BackupSettings

__all__ = ["Candidate", "Decision", "RetentionPlan", "RetentionPolicy", "plan_retention"]


@dataclass(frozen=True)
class RetentionPolicy:
    """Keep the newest backup of each of the N most recent days, ISO weeks and months."""

    daily: int = 7
    weekly: int = 4
    monthly: int = 6
    min_count: int = 3
    emergency_exempt: timedelta = timedelta(hours=72)

    @classmethod
    def from_settings(cls, settings: BackupSettings) -> RetentionPolicy:
        return cls(
            daily=settings.keep_daily,
            weekly=settings.keep_weekly,
            monthly=settings.keep_monthly,
            min_count=settings.min_count,
            emergency_exempt=timedelta(hours=settings.emergency_exempt_hours),
        )


@dataclass(frozen=True)
class Candidate:
    """What retention needs to know of one complete backup."""

    name: str
    created_at: datetime
    kind: BackupKind = "regular"
    verification: Verification = "unverified"


@dataclass(frozen=True)
class Decision:
    """Keep or delete one backup, with every reason that applies."""

    name: str
    keep: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class RetentionPlan:
    """Decisions, newest backup first; ``refused`` says why nothing may be deleted."""

    decisions: tuple[Decision, ...]
    refused: str = ""

    @property
    def keep(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.decisions if d.keep)

    @property
    def delete(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.decisions if not d.keep)


_Buckets = tuple[tuple[str, int, Callable[[datetime], Hashable]], ...]


def _buckets(policy: RetentionPolicy) -> _Buckets:
    return (
        ("daily", policy.daily, lambda t: t.date()),
        ("weekly", policy.weekly, lambda t: t.isocalendar()[:2]),
        ("monthly", policy.monthly, lambda t: (t.year, t.month)),
    )


def plan_retention(
    backups: Sequence[Candidate], policy: RetentionPolicy, now: datetime
) -> RetentionPlan:
    """Which backups to keep; guarantees hold for any ages and verification states.

    Never deletes the newest backup or the newest verified one, an emergency backup within its
    exemption, or below ``min_count``; deletes nothing when the newest backup failed verification.
    A backup that failed verification never fills a day, week or month.
    """
    ordered = sorted(backups, key=lambda b: (b.created_at, b.name), reverse=True)
    if not ordered:
        return RetentionPlan(())
    reasons: dict[str, list[str]] = {b.name: [] for b in ordered}
    reasons[ordered[0].name].append("newest backup")
    refused = ""
    if ordered[0].verification == "failed":
        refused = "the newest backup failed verification: nothing is deleted until one verifies"
        for b in ordered:
            reasons[b.name].append("prune refused")
    verified = next((b for b in ordered if b.verification == "ok"), None)
    if verified is not None:
        reasons[verified.name].append("newest verified backup")
    _mark_buckets(ordered, policy, reasons)
    for b in ordered:
        if b.kind == "emergency" and now - b.created_at < policy.emergency_exempt:
            until = b.created_at + policy.emergency_exempt
            reasons[b.name].append(f"emergency, exempt until {until:%Y-%m-%d %H:%M}")
    kept = sum(1 for b in ordered if reasons[b.name])
    for b in ordered:
        if kept >= policy.min_count:
            break
        if not reasons[b.name]:
            reasons[b.name].append(f"minimum count {policy.min_count}")
            kept += 1
    decisions = tuple(
        Decision(b.name, True, tuple(reasons[b.name]))
        if reasons[b.name]
        else Decision(b.name, False, (_why_delete(b, policy),))
        for b in ordered
    )
    return RetentionPlan(decisions, refused)


def _mark_buckets(
    ordered: Sequence[Candidate], policy: RetentionPolicy, reasons: dict[str, list[str]]
) -> None:
    for label, count, key in _buckets(policy):
        seen: list[Hashable] = []
        for b in ordered:
            at = _utc(b.created_at)
            bucket = key(at)
            if b.verification == "failed" or bucket in seen:
                continue
            if len(seen) >= count:
                break
            seen.append(bucket)
            reasons[b.name].append(f"{label} {bucket_label(label, at)}")


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC) if at.tzinfo is not None else at


def bucket_label(label: str, at: datetime) -> str:
    if label == "daily":
        return f"{at:%Y-%m-%d}"
    if label == "weekly":
        year, week, _ = at.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{at:%Y-%m}"


def _why_delete(b: Candidate, policy: RetentionPolicy) -> str:
    if b.verification == "failed":
        return "failed verification and not needed for any guarantee"
    return (
        f"not the newest of the {policy.daily} most recent days, {policy.weekly} weeks"
        f" or {policy.monthly} months"
    )
