"""Maintenance windows as values: their scope, their times, the ``--until`` an operator gave."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from opslib.errors import InputError

__all__ = ["MaintenanceScope", "MaintenanceWindow", "check_reason", "parse_until"]

_SERVICE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_RELATIVE = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
MAX_REASON = 500
"""The longest reason a window may carry, in characters."""
MIN_LENGTH = timedelta(minutes=1)
"""The shortest window: an expected end must lie at least this far ahead."""


@dataclass(frozen=True)
class MaintenanceScope:
    """What a window covers: everything (no services, no domains), or the named services and
    shop domains (sorted, unique; domains in lower case). Build it with :meth:`of`."""

    services: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()

    @classmethod
    def of(cls, services: Iterable[str] = (), domains: Iterable[str] = ()) -> MaintenanceScope:
        """A validated scope; InputError names a service or domain that is not one."""
        found_services = set()
        for service in services:
            name = service.strip()
            if not _SERVICE.fullmatch(name):
                raise InputError(f"not a service name: {service!r} (letters, digits, _ . -)")
            found_services.add(name)
        found_domains = set()
        for domain in domains:
            name = domain.strip().lower().rstrip(".")
            if len(name) > 253 or not _DOMAIN.fullmatch(name):
                raise InputError(f"not a domain name: {domain!r} (e.g. alpha-shop.test)")
            found_domains.add(name)
        return cls(frozenset(found_services), frozenset(found_domains))

    @property
    def everything(self) -> bool:
        """Whether the scope is the whole platform."""
        return not self.services and not self.domains

    def overlaps(self, other: MaintenanceScope) -> bool:
        """Whether the two scopes share anything (everything overlaps any scope)."""
        return (
            self.everything
            or other.everything
            or not self.services.isdisjoint(other.services)
            or not self.domains.isdisjoint(other.domains)
        )

    def describe(self) -> str:
        """``everything``, or e.g. ``services scraper; domains alpha-shop.test``."""
        if self.everything:
            return "everything"
        parts = []
        if self.services:
            parts.append("service" + "s" * (len(self.services) > 1) + " " + _join(self.services))
        if self.domains:
            parts.append("domain" + "s" * (len(self.domains) > 1) + " " + _join(self.domains))
        return "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: ``everything``, ``services``, ``domains``."""
        return {
            "everything": self.everything,
            "services": sorted(self.services),
            "domains": sorted(self.domains),
        }


def _join(names: frozenset[str]) -> str:
    return ", ".join(sorted(names))


@dataclass(frozen=True)
class MaintenanceWindow:
    """One maintenance window: why, who opened it, when, until when, and what it covers."""

    id: int
    reason: str
    actor: str
    started_at: datetime
    expected_end: datetime
    scope: MaintenanceScope
    ended_at: datetime | None = None
    ended_by: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> MaintenanceWindow:
        """A window from a row of ``opslib.maintenance_windows``."""
        return cls(
            id=int(row["id"]),
            reason=str(row["reason"]),
            actor=str(row["actor"]),
            started_at=row["started_at"],
            expected_end=row["expected_end"],
            scope=MaintenanceScope(frozenset(row["services"]), frozenset(row["domains"])),
            ended_at=row["ended_at"],
            ended_by=row["ended_by"],
        )

    @property
    def open(self) -> bool:
        """Not closed yet."""
        return self.ended_at is None

    def overdue(self, now: datetime) -> timedelta:
        """How long an open window has run past its expected end (zero when it has not)."""
        if not self.open:
            return timedelta(0)
        return max(now - self.expected_end, timedelta(0))

    def stuck(self, now: datetime) -> bool:
        """Open and past its expected end."""
        return self.open and now > self.expected_end

    def as_dict(self, now: datetime | None = None) -> dict[str, Any]:
        """JSON-ready; with ``now``, also whether it is stuck and by how many minutes."""
        data: dict[str, Any] = {
            "id": self.id,
            "reason": self.reason,
            "actor": self.actor,
            "started_at": self.started_at.isoformat(),
            "expected_end": self.expected_end.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "ended_by": self.ended_by,
            "scope": self.scope.as_dict(),
        }
        if now is not None:
            data["stuck"] = self.stuck(now)
            data["overdue_minutes"] = round(self.overdue(now).total_seconds() / 60, 1)
        return data


def parse_until(text: str, now: datetime, max_hours: float) -> datetime:
    """The expected end an operator gave: a duration from ``now`` (``90m``, ``2h``, ``1h30m``,
    ``1d``) or an ISO 8601 time (local time when it names no zone). InputError when it cannot
    be read, is less than a minute ahead, or is more than ``max_hours`` ahead."""
    given = text.strip()
    relative = _RELATIVE.fullmatch(given)
    if given and relative and any(relative.groups()):
        days, hours, minutes, seconds = (int(g or 0) for g in relative.groups())
        end = now + timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    else:
        try:
            parsed = datetime.fromisoformat(given)
        except ValueError:
            raise InputError(
                f"--until {text!r}: not a duration (90m, 2h, 1h30m, 1d) or an ISO time"
                " (2025-06-01T02:00, 2025-06-01T02:00+00:00)"
            ) from None
        end = parsed if parsed.tzinfo is not None else parsed.astimezone()
    if end - now < MIN_LENGTH:
        raise InputError(f"--until {text!r}: the expected end must be at least a minute ahead")
    if end - now > timedelta(hours=max_hours):
        raise InputError(
            f"--until {text!r}: more than {max_hours:g} h ahead (maintenance.max_hours); a window"
            " that long is never reported stuck"
        )
    return end


def check_reason(reason: str) -> str:
    """The reason, stripped; InputError when it is empty or too long."""
    text = " ".join(reason.split())
    if not text:
        raise InputError("--reason: say why (it is shown to whoever finds the window open)")
    if len(text) > MAX_REASON:
        raise InputError(f"--reason: at most {MAX_REASON} characters ({len(text)} given)")
    return text
