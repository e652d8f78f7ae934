"""The backup policy's disk cost, projected with the database's growth forecast.

Each future day gets one backup (the schedule the policy assumes) whose size is the newest
backup's times the database's forecast growth since today; the policy's own plan then says which
backups (existing and future) are kept on each horizon, and their bytes add up. Without a backup
in the catalogue there is no size to scale: the cost is unknown, never guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from opslib.adapters import Database
from opslib.backups import Candidate, Catalog, PolicyInForce, RetentionPolicy, plan_retention
from opslib.capacity._sources import VolumeUsage
from opslib.config import Settings
from opslib.results import CheckResult, Measurement, Table

if TYPE_CHECKING:
    from opslib.capacity._report import ForecastLine

__all__ = ["POLICY_DAYS", "PolicyCost", "PolicyHorizon", "backup_policy_result", "policy_cost"]

SOP = "monthly.capacity"
POLICY_DAYS = 90
"""The horizon ``monthly.capacity`` judges the backup volume against the policy for."""
_GiB = 2**30


@dataclass(frozen=True)
class PolicyHorizon:
    """What the policy keeps ``days`` ahead: how many backups and their bytes (estimate and the
    forecast interval's upper edge)."""

    days: int
    on: date
    backups: int
    bytes: float
    high: float


@dataclass(frozen=True)
class PolicyCost:
    """The policy in force, what it keeps of today's backups, and its projected disk cost."""

    policy: PolicyInForce
    kept: tuple[str, ...]
    deleted: tuple[str, ...]
    kept_bytes: int
    newest_bytes: int | None
    horizons: tuple[PolicyHorizon, ...]
    volume: VolumeUsage
    note: str = ""

    @property
    def capacity(self) -> int | None:
        """Bytes the backups may take: what they use now plus the volume's free space."""
        return None if self.volume.free is None else self.volume.used_by_data + self.volume.free

    def at(self, days: int) -> PolicyHorizon | None:
        """The projection ``days`` ahead, if computed."""
        return next((h for h in self.horizons if h.days == days), None)


def _growth(line: ForecastLine | None, days: int) -> tuple[float, float]:
    """The database's forecast size ``days`` ahead over today's (estimate, high); 1.0 without
    a forecast. Beyond the line's path, its last step continues."""
    if line is None or not line.path or not line.current:
        return 1.0, 1.0
    path = line.path
    if days <= len(path):
        _day, est, _lo, high = path[days - 1]
    else:
        extra = days - len(path)
        step = (path[-1][1] - path[-2][1]) if len(path) > 1 else 0.0
        step_high = (path[-1][3] - path[-2][3]) if len(path) > 1 else 0.0
        est, high = path[-1][1] + extra * step, path[-1][3] + extra * step_high
    return max(est, 0.0) / line.current, max(high, 0.0) / line.current


def policy_cost(
    db: Database,
    settings: Settings,
    policy: PolicyInForce,
    volume: VolumeUsage,
    database_line: ForecastLine | None,
    *,
    horizons: Sequence[int] = (),
    now: datetime | None = None,
) -> PolicyCost:
    """What ``policy`` keeps now and ``horizons`` (and :data:`POLICY_DAYS`) days ahead with
    one backup a day, each as large as the newest one grown with ``database_line``."""
    at = now or datetime.now(UTC)
    records = Catalog(db, settings.backups.backup_dir).complete_backups()
    sizes = {r.name: (r.dump_bytes or 0) + (r.config_bytes or 0) for r in records}
    existing = [
        Candidate(r.name, r.created_at or r.started_at, r.kind, r.verification) for r in records
    ]
    plan = plan_retention(existing, policy.policy, at)
    kept_bytes = sum(sizes[name] for name in plan.keep)
    if not records:
        note = "no backup in the catalogue: no size to project (opslib backup create)"
        return PolicyCost(policy, (), (), 0, None, (), volume, note)
    newest = records[0]
    newest_bytes = sizes[newest.name]
    when = newest.created_at or newest.started_at
    days = sorted({*horizons, POLICY_DAYS})
    projected = tuple(
        _project(policy.policy, existing, sizes, newest_bytes, when, at, d, database_line)
        for d in days
    )
    note = "" if database_line and database_line.path else "no growth forecast: sizes held"
    return PolicyCost(
        policy, plan.keep, plan.delete, kept_bytes, newest_bytes, projected, volume, note
    )


def _project(  # noqa: PLR0917 - one call site
    policy: RetentionPolicy, existing: Sequence[Candidate], sizes: dict[str, int],
    newest_bytes: int, newest_at: datetime, now: datetime, days: int,
    database_line: ForecastLine | None,
) -> PolicyHorizon:  # fmt: skip
    sizes = dict(sizes)
    future = []
    for k in range(1, days + 1):
        made = newest_at + timedelta(days=k)
        if made > now + timedelta(days=days):
            break
        est, high = _growth(database_line, k)
        name = f"future-{k:05d}"
        future.append(Candidate(name, made, verification="ok"))
        sizes[name] = round(newest_bytes * est)
        sizes[name + "+"] = round(newest_bytes * high)
    plan = plan_retention([*existing, *future], policy, now + timedelta(days=days))
    total = sum(sizes[n] for n in plan.keep)
    high_total = sum(sizes.get(n + "+", sizes[n]) for n in plan.keep)
    on = (now + timedelta(days=days)).date()
    return PolicyHorizon(days, on, len(plan.keep), float(total), float(high_total))


def _gib(value: float | None) -> str:
    return "?" if value is None else f"{value / _GiB:.2f}"


def backup_policy_result(cost: PolicyCost, settings: Settings) -> CheckResult:
    """The backup volume holds what the policy keeps :data:`POLICY_DAYS` days ahead (threshold
    ``capacity.backup_policy_fill``: the projection's upper edge as % of the room the backups
    have, their bytes now plus the volume's free space)."""
    title = f"backup volume holds the retention policy for the next {POLICY_DAYS} days"
    ahead = cost.at(POLICY_DAYS)
    if ahead is None:
        return CheckResult.unknown(SOP, title, cost.note)
    room = cost.capacity
    if room is None:
        return CheckResult.unknown(SOP, title, cost.volume.note)
    p = cost.policy.policy
    subject = (
        f"keep_daily={p.daily} keep_weekly={p.weekly} keep_monthly={p.monthly}"
        f" ({cost.policy.source})"
    )
    note = (
        f"{ahead.backups} backups, {_gib(ahead.bytes)} GiB (up to {_gib(ahead.high)}) on"
        f" {ahead.on} against {_gib(room)} GiB of room"
    )
    measurement = Measurement(
        "backup_policy_fill",
        round(100.0 * ahead.high / room, 1) if room else float("inf"),
        settings.threshold("capacity.backup_policy_fill"),
        subject,
        note,
    )
    table = Table(
        ("days ahead", "on", "backups kept", "GiB", "GiB (high)"),
        tuple(
            (str(h.days), str(h.on), str(h.backups), _gib(h.bytes), _gib(h.high))
            for h in cost.horizons
        ),
        title="the retention policy's projected disk cost",
    )
    return CheckResult(
        SOP,
        title,
        (measurement,),
        "keep fewer backups with `opslib backup policy --set keep_monthly=N` (or keep_weekly,"
        " keep_daily), or grow the backup volume (capacity.backup_volume_bytes)",
        tables=(table,),
    )
