"""A domain's state as a value: active, cooling down until a time, or paused; and the plans
that change it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from opslib.errors import InputError

__all__ = ["DomainPlan", "DomainState", "parse_duration"]

_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")

StateName = Literal["active", "cooling", "paused"]
PlanAction = Literal["cooldown", "extend", "end", "pause", "resume", "none"]


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


@dataclass(frozen=True)
class DomainState:
    """What scrapers may do with ``domain``: nothing while it is paused or cooling down
    (``cooling_until`` ahead); ``auto`` when auto-cooldown started it."""

    domain: str
    cooling_until: datetime | None = None
    paused: bool = False
    reason: str = ""
    actor: str = ""
    auto: bool = False
    changed_at: datetime | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> DomainState:
        """A state from a row of ``opslib.domain_state``."""
        return cls(
            domain=str(row["domain"]),
            cooling_until=row["cooling_until"],
            paused=bool(row["paused"]),
            reason=str(row["reason"]),
            actor=str(row["actor"]),
            auto=bool(row["auto"]),
            changed_at=row["changed_at"],
        )

    def state(self, now: datetime) -> StateName:
        """``paused``, ``cooling`` (a cooldown not over at ``now``) or ``active``."""
        if self.paused:
            return "paused"
        if self.cooling_until is not None and self.cooling_until > now:
            return "cooling"
        return "active"

    def describe(self, now: datetime) -> str:
        """``active``, ``cooling down until ... (reason)`` or ``paused (reason)``."""
        state = self.state(now)
        why = f" ({self.reason}, by {self.actor})" if self.reason else ""
        if state == "paused":
            return f"paused{why}"
        if state == "cooling":
            assert self.cooling_until is not None
            return f"cooling down until {_when(self.cooling_until)}{why}"
        return "active"

    def as_dict(self, now: datetime) -> dict[str, Any]:
        """JSON-ready, with the state at ``now``."""
        cooling = self.state(now) == "cooling"
        return {
            "domain": self.domain,
            "state": self.state(now),
            "cooling_until": self.cooling_until.isoformat()
            if cooling and self.cooling_until
            else None,
            "paused": self.paused,
            "reason": self.reason or None,
            "actor": self.actor or None,
            "auto": self.auto,
        }


@dataclass(frozen=True)
class DomainPlan:
    """A change of a domain's state: start a ``cooldown``, ``extend`` or ``end`` one,
    ``pause``, ``resume``, or ``none`` (already so)."""

    domain: str
    action: PlanAction
    before: DomainState
    until: datetime | None = None
    reason: str = ""

    @property
    def changes(self) -> bool:
        """Whether applying it changes anything."""
        return self.action != "none"

    def describe(self) -> str:
        """One line saying what it does."""
        d = self.domain
        if self.action in ("cooldown", "extend"):
            assert self.until is not None
            verb = "cool down" if self.action == "cooldown" else "extend the cooldown of"
            return f"{verb} {d} until {_when(self.until)}: {self.reason}"
        if self.action == "end":
            return f"end the cooldown of {d}"
        if self.action == "pause":
            return f"pause {d}: {self.reason}"
        if self.action == "resume":
            return f"resume {d}"
        return f"{d}: nothing to change"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "domain": self.domain,
            "action": self.action,
            "changes": self.changes,
            "until": self.until.isoformat() if self.until else None,
            "reason": self.reason or None,
            "summary": self.describe(),
        }


def parse_duration(text: str, *, max_hours: float) -> timedelta:
    """A duration an operator gave (``30m``, ``2h``, ``1h30m``, ``1d``, ``90s``); InputError
    when it cannot be read, is zero, or is longer than ``max_hours``."""
    given = text.strip()
    match = _DURATION.fullmatch(given)
    if not given or match is None or not any(match.groups()):
        raise InputError(f"--for {text!r}: not a duration (30m, 2h, 1h30m, 1d)")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    length = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if length <= timedelta(0):
        raise InputError(f"--for {text!r}: a cooldown must last (to end one: --off)")
    if length > timedelta(hours=max_hours):
        raise InputError(
            f"--for {text!r}: more than {max_hours:g} h (domain_controls.max_cooldown_hours);"
            " for longer, opslib domains pause"
        )
    return length
