"""Which monitored URLs an operator means (``--priority low``, ``--domain D``), the load they
put on the fleet, and the plans ``opslib urls`` shows before it acts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opslib.config import UrlControlSettings
from opslib.errors import InputError, UnsafeActionError

__all__ = [
    "IntervalChange",
    "IntervalPlan",
    "PausePlan",
    "ResumePlan",
    "Selection",
    "UrlLoad",
    "select_urls",
]

_RANGE = re.compile(r"(\d{1,5})(?:-(\d{1,5}))?")


@dataclass(frozen=True)
class Selection:
    """Monitored URLs by priority range (inclusive) and/or shop domain."""

    priority: str | None = None
    lowest: int | None = None
    highest: int | None = None
    domain: str | None = None

    def describe(self) -> str:
        """``priority low (7-10), domain a.test``."""
        parts = []
        if self.priority is not None:
            span = (
                f"{self.lowest}" if self.lowest == self.highest else f"{self.lowest}-{self.highest}"
            )
            parts.append(
                f"priority {self.priority} ({span})"
                if self.priority != span
                else f"priority {span}"
            )
        if self.domain is not None:
            parts.append(f"domain {self.domain}")
        return ", ".join(parts) or "every URL"


def select_urls(
    settings: UrlControlSettings, priority: str | None, domain: str | None
) -> Selection:
    """The selection an operator gave: ``priority`` a name of ``urls.priorities``, a value
    (``8``) or a range (``8-10``); ``domain`` a shop domain. InputError when neither is given
    or one cannot be read."""
    if priority is None and domain is None:
        raise InputError("give --priority (e.g. low) or --domain, or both")
    name = domain.strip().lower() if domain is not None else None
    if name is not None and not name:
        raise InputError("--domain: empty")
    if priority is None:
        return Selection(domain=name)
    given = priority.strip().lower()
    if given in settings.priorities:
        lowest, highest = settings.priorities[given]
        return Selection(given, lowest, highest, name)
    match = _RANGE.fullmatch(given)
    if match is None:
        known = ", ".join(sorted(settings.priorities))
        raise InputError(
            f"--priority {priority!r}: not one of {known} (urls.priorities), a value or a range"
            " (8-10)"
        )
    lowest = int(match.group(1))
    highest = int(match.group(2) or lowest)
    if lowest > highest:
        raise InputError(f"--priority {priority!r}: the range goes downwards")
    return Selection(given, lowest, highest, name)


@dataclass(frozen=True)
class UrlLoad:
    """How many active URLs, and the requests per hour their intervals ask of the fleet."""

    urls: int
    requests_per_hour: float

    def describe(self) -> str:
        """``60 URLs, 1,234 requests/h``."""
        plural = "s" if self.urls != 1 else ""
        return f"{self.urls} URL{plural}, {self.requests_per_hour:,.0f} requests/h"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"urls": self.urls, "requests_per_hour": round(self.requests_per_hour, 1)}


def _share(part: float, whole: float) -> str:
    return f"{part / whole:.0%}" if whole else "0%"


@dataclass(frozen=True)
class PausePlan:
    """What ``opslib urls pause`` does: the URLs it pauses and the load they remove."""

    selection: Selection
    url_ids: tuple[str, ...]
    removed: UrlLoad
    total: UrlLoad
    already_paused: int
    until: datetime
    reason: str

    @property
    def changes(self) -> bool:
        """Whether anything would be paused."""
        return bool(self.url_ids)

    @property
    def pauses_everything(self) -> bool:
        """Every active URL would be paused (refused unless forced)."""
        return bool(self.url_ids) and len(self.url_ids) >= self.total.urls

    def check(self, *, force: bool = False) -> None:
        """Raise :class:`UnsafeActionError` when this pauses every active URL, unless forced."""
        if self.pauses_everything and not force:
            raise UnsafeActionError(
                f"{self.selection.describe()} is every active URL ({self.total.urls}): nothing"
                " would be scraped; refused (--force to pause them all)"
            )

    def describe(self) -> str:
        """One paragraph: what, how much load, until when."""
        if not self.changes:
            extra = f" ({self.already_paused} already paused)" if self.already_paused else ""
            return f"no active URL matches {self.selection.describe()}{extra}: nothing to pause"
        return (
            f"pause {self.removed.describe()} ({self.selection.describe()}): removes"
            f" {_share(self.removed.requests_per_hour, self.total.requests_per_hour)} of the"
            f" {self.total.requests_per_hour:,.0f} requests/h of {self.total.urls} active URLs,"
            f" until {self.until:%Y-%m-%d %H:%M:%S %Z} (resumed automatically then)"
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "selection": self.selection.describe(),
            "paused": len(self.url_ids),
            "removes": self.removed.as_dict(),
            "active_before": self.total.as_dict(),
            "already_paused": self.already_paused,
            "until": self.until.isoformat(),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ResumePlan:
    """What ``opslib urls resume`` (or the automatic resume) turns back on."""

    url_ids: tuple[str, ...]
    restored: UrlLoad
    expired_only: bool

    @property
    def changes(self) -> bool:
        """Whether anything would be resumed."""
        return bool(self.url_ids)

    def describe(self) -> str:
        """One line."""
        what = "expired pauses" if self.expired_only else "paused URLs"
        if not self.changes:
            return f"no {what}: nothing to resume"
        return f"resume {self.restored.describe()} ({what})"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"resumed": len(self.url_ids), "restores": self.restored.as_dict()}


@dataclass(frozen=True)
class IntervalChange:
    """One URL's interval now and after the change, in seconds."""

    url_id: str
    seconds: float
    new_seconds: float
    clamped: bool


@dataclass(frozen=True)
class IntervalPlan:
    """What ``opslib urls interval`` does: each URL's new interval and the load it removes."""

    selection: Selection
    factor: float | None  # None: restore the recorded intervals
    changes_: tuple[IntervalChange, ...]
    before: UrlLoad
    after: UrlLoad
    floor: float
    ceiling: float

    @property
    def changes(self) -> bool:
        """Whether any interval would change."""
        return any(c.new_seconds != c.seconds for c in self.changes_)

    def describe(self) -> str:
        """One paragraph: how many URLs, the load before and after, what was clamped."""
        what = "restore" if self.factor is None else f"intervals x{self.factor:g} for"
        if not self.changes:
            return f"{what} {self.selection.describe()}: no interval to change"
        changed = [c for c in self.changes_ if c.new_seconds != c.seconds]
        removed = self.before.requests_per_hour - self.after.requests_per_hour
        verb = "removes" if removed >= 0 else "adds"
        clamped = sum(c.clamped for c in changed)
        note = (
            f"; {clamped} held at the floor {self.floor:g} s / ceiling {self.ceiling:g} s"
            if clamped
            else ""
        )
        return (
            f"{what} {len(changed)} URLs ({self.selection.describe()}): {verb}"
            f" {abs(removed):,.0f} requests/h ({self.before.requests_per_hour:,.0f} ->"
            f" {self.after.requests_per_hour:,.0f} of these URLs){note}"
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "selection": self.selection.describe(),
            "factor": self.factor,
            "restore": self.factor is None,
            "changed": sum(c.new_seconds != c.seconds for c in self.changes_),
            "clamped": sum(c.clamped for c in self.changes_),
            "before": self.before.as_dict(),
            "after": self.after.as_dict(),
            "floor_seconds": self.floor,
            "ceiling_seconds": self.ceiling,
        }
