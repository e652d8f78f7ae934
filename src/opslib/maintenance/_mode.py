"""Maintenance mode: windows in ``opslib.maintenance_windows``, opened and closed by operators,
asked about by services.

Services call :meth:`MaintenanceMode.is_active` as often as they like: the open windows are read
at most once per ``maintenance.cache_seconds`` and the answer comes from memory in between.
Operators change them with ``enable`` / ``disable`` (plan, then apply under an advisory lock, so
two operators racing open one window and close it once).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, LiteralString

from opslib.adapters import Database
from opslib.audit import current_actor
from opslib.config import MaintenanceSettings
from opslib.errors import OpsError
from opslib.maintenance._model import MaintenanceScope, MaintenanceWindow, check_reason

__all__ = ["MaintenanceMode", "MaintenancePlan", "MaintenanceStatus", "plan_disable", "plan_enable"]

_log = logging.getLogger(__name__)

_LOCK = 0x6D61696E74  # "maint": one change of maintenance mode at a time, across processes
_OPEN_SCOPES: LiteralString = (
    "SELECT services, domains FROM opslib.maintenance_windows WHERE ended_at IS NULL"
)
_COLUMNS: LiteralString = (
    "id, reason, actor, started_at, expected_end, services, domains, ended_at, ended_by"
)
_OPEN: LiteralString = (
    "SELECT " + _COLUMNS + ", now() AS now FROM opslib.maintenance_windows"
    " WHERE ended_at IS NULL ORDER BY started_at, id"
)

PlanAction = Literal["open", "move_end", "keep", "close", "none"]


@dataclass(frozen=True)
class MaintenancePlan:
    """What ``enable`` or ``disable`` does (or did): ``open`` a window, ``move_end`` of the open
    window with the same scope, ``keep`` it as it is, ``close`` the open windows, or ``none``."""

    action: PlanAction
    scope: MaintenanceScope | None = None
    reason: str = ""
    expected_end: datetime | None = None
    windows: tuple[MaintenanceWindow, ...] = ()  # the windows it touches (or leaves as they are)

    @property
    def changes(self) -> bool:
        """Whether applying it changes anything."""
        return self.action in ("open", "move_end", "close")

    def describe(self) -> str:
        """One line saying what it does."""
        end = _when(self.expected_end) if self.expected_end else ""
        scope = self.scope.describe() if self.scope else ""
        if self.action == "open":
            return f"open a maintenance window for {scope} until {end}: {self.reason}"
        if self.action == "move_end":
            old = _when(self.windows[0].expected_end)
            return f"maintenance for {scope}: expected end moves from {old} to {end}"
        if self.action == "keep":
            window = self.windows[0]
            return (
                f"maintenance is already on for {scope} since {_when(window.started_at)}"
                f" (by {window.actor}, until {_when(window.expected_end)}): nothing to change"
            )
        if self.action == "close":
            closed = "; ".join(
                f"{w.scope.describe()} (since {_when(w.started_at)})" for w in self.windows
            )
            return f"close {len(self.windows)} maintenance window(s): {closed}"
        return "maintenance is off: nothing to close"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "action": self.action,
            "changes": self.changes,
            "scope": self.scope.as_dict() if self.scope else None,
            "reason": self.reason or None,
            "expected_end": self.expected_end.isoformat() if self.expected_end else None,
            "windows": [w.as_dict() for w in self.windows],
            "summary": self.describe(),
        }


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M %Z").strip()


def plan_enable(
    open_windows: Sequence[MaintenanceWindow],
    now: datetime,
    *,
    reason: str,
    scope: MaintenanceScope,
    until: datetime | None,
    default_length: timedelta,
) -> MaintenancePlan:
    """Open a window for ``scope`` unless one is open for exactly that scope: then keep it, or
    move its expected end when ``until`` names another (pure: no I/O)."""
    text = check_reason(reason)
    same = next((w for w in open_windows if w.scope == scope), None)
    if same is not None:
        if until is not None and until != same.expected_end:
            return MaintenancePlan("move_end", scope, same.reason, until, (same,))
        return MaintenancePlan("keep", scope, same.reason, same.expected_end, (same,))
    end = until if until is not None else now + default_length
    return MaintenancePlan("open", scope, text, end)


def plan_disable(open_windows: Sequence[MaintenanceWindow]) -> MaintenancePlan:
    """Close every open window (pure: no I/O)."""
    if not open_windows:
        return MaintenancePlan("none")
    return MaintenancePlan("close", windows=tuple(open_windows))


@dataclass(frozen=True)
class MaintenanceStatus:
    """The open windows as the database saw them at ``now`` (its own clock)."""

    windows: tuple[MaintenanceWindow, ...]
    now: datetime

    @property
    def stuck(self) -> tuple[MaintenanceWindow, ...]:
        """Open windows past their expected end."""
        return tuple(w for w in self.windows if w.stuck(self.now))

    @property
    def state(self) -> Literal["off", "on", "stuck"]:
        """``off`` (no open window), ``on``, or ``stuck`` (one is past its expected end)."""
        if self.stuck:
            return "stuck"
        return "on" if self.windows else "off"


Snapshot = tuple[bool, bool, frozenset[str], frozenset[str]]
"""The open windows' scopes for the hot path: (any open, one for everything, services, domains)."""
_OFF: Snapshot = (False, False, frozenset(), frozenset())
_ON: Snapshot = (True, True, frozenset(), frozenset())
_NEVER = float("-inf")


def _snapshot(scopes: Sequence[MaintenanceScope]) -> Snapshot:
    return (
        bool(scopes),
        any(s.everything for s in scopes),
        frozenset().union(*(s.services for s in scopes)),
        frozenset().union(*(s.domains for s in scopes)),
    )


class MaintenanceMode:
    """Maintenance mode in the ``opslib`` schema of ``db``.

    ``is_active`` is cheap (one query per ``settings.cache_seconds``, memory in between;
    ``clock`` is injectable for tests) and safe to share between threads; give it a
    :class:`Database` of its own, as the refresh uses its connection.
    """

    def __init__(
        self,
        db: Database,
        settings: MaintenanceSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self.settings = settings if settings is not None else MaintenanceSettings()
        self._clock = clock
        self._ttl = self.settings.cache_seconds
        # (expires, *snapshot), replaced whole: a reader never sees half an update.
        self._state: tuple[float, bool, bool, frozenset[str], frozenset[str]] = (_NEVER, *_OFF)
        self._last_known = _OFF
        self._failing: str | None = None
        self._lock = threading.Lock()

    @property
    def database(self) -> Database:
        """The database the windows live in."""
        return self._db

    # the services' side

    def is_active(
        self,
        scope: MaintenanceScope | None = None,
        *,
        service: str | None = None,
        domain: str | None = None,
    ) -> bool:
        """Whether an open window covers what is asked: ``service``, ``domain`` or any part of
        ``scope``; with none of them, whether any window is open. A window for everything
        covers all. Answered from memory for ``cache_seconds`` after each read."""
        expires, any_open, everything, services, domains = self._state
        if self._clock() >= expires:
            _, any_open, everything, services, domains = self._refresh()
        if not any_open:
            return False
        if everything or (scope is None and service is None and domain is None):
            return True
        if service in services:
            return True
        if domain is not None and domains and domain.lower() in domains:
            return True
        return scope is not None and scope.overlaps(MaintenanceScope(services, domains))

    def paused_domains(self) -> frozenset[str]:
        """The domains open windows name (cached like ``is_active``); a service that picks its
        work by domain leaves these out."""
        state = self._state
        if self._clock() >= state[0]:
            state = self._refresh()
        return state[4]

    @property
    def unreachable(self) -> str | None:
        """Why the last read failed (the answer then follows ``when_unreachable``), or None."""
        return self._failing

    def invalidate(self) -> None:
        """Forget the cached answer: the next ``is_active`` reads the database."""
        self._state = (_NEVER, *self._state[1:])

    def _refresh(self) -> tuple[float, bool, bool, frozenset[str], frozenset[str]]:
        with self._lock:
            if self._clock() < self._state[0]:
                return self._state  # another thread read it meanwhile
            try:
                rows = self._db.fetch_all(_OPEN_SCOPES)
            except OpsError as exc:
                snap = self._fallback(exc)
            else:
                snap = self._last_known = _snapshot(
                    [
                        MaintenanceScope(frozenset(r["services"]), frozenset(r["domains"]))
                        for r in rows
                    ]
                )
                if self._failing is not None:
                    _log.warning("maintenance mode readable again")
                self._failing = None
            self._state = (self._clock() + self._ttl, *snap)
            return self._state

    def _fallback(self, exc: OpsError) -> Snapshot:
        policy = self.settings.when_unreachable
        if self._failing is None:
            _log.warning(
                "maintenance mode cannot be read (%s; answering %s): %s",
                "maintenance.when_unreachable",
                policy,
                exc,
            )
        self._failing = str(exc)
        if policy == "assume_on":
            return _ON
        if policy == "assume_off":
            return _OFF
        return self._last_known

    # the operators' side

    def status(self) -> MaintenanceStatus:
        """The open windows now, by the database's clock (read, never cached)."""
        rows = self._db.fetch_all(_OPEN)
        now = rows[0]["now"] if rows else self._db_now()
        return MaintenanceStatus(tuple(MaintenanceWindow.from_row(r) for r in rows), now)

    def history(self, limit: int = 20) -> list[MaintenanceWindow]:
        """The newest windows, open or closed, newest first."""
        rows = self._db.fetch_all(
            "SELECT " + _COLUMNS + " FROM opslib.maintenance_windows"
            " ORDER BY started_at DESC, id DESC LIMIT %s",
            (limit,),
        )
        return [MaintenanceWindow.from_row(r) for r in rows]

    def plan_enable(
        self,
        reason: str,
        *,
        scope: MaintenanceScope | None = None,
        until: datetime | None = None,
    ) -> MaintenancePlan:
        """What ``enable`` would do now (reads, changes nothing)."""
        status = self.status()
        return plan_enable(
            status.windows,
            status.now,
            reason=reason,
            scope=scope or MaintenanceScope(),
            until=until,
            default_length=self._default_length,
        )

    def enable(
        self,
        reason: str,
        *,
        scope: MaintenanceScope | None = None,
        until: datetime | None = None,
        actor: str | None = None,
    ) -> MaintenancePlan:
        """Open a window for ``scope`` (default: everything) until ``until`` (default: now plus
        ``default_minutes``). Idempotent: a window already open for the same scope is kept (its
        expected end moved when ``until`` differs). Returns what was done."""
        wanted = scope or MaintenanceScope()
        check_reason(reason)
        db = self._db
        with db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            status = self.status()
            plan = plan_enable(
                status.windows,
                status.now,
                reason=reason,
                scope=wanted,
                until=until,
                default_length=self._default_length,
            )
            if plan.action == "open":
                row = db.fetch_one(
                    "INSERT INTO opslib.maintenance_windows"
                    " (reason, actor, expected_end, services, domains)"
                    " VALUES (%(reason)s, %(actor)s, %(end)s, %(services)s, %(domains)s)"
                    " RETURNING " + _COLUMNS,
                    {
                        "reason": plan.reason,
                        "actor": actor or current_actor(),
                        "end": plan.expected_end,
                        "services": sorted(wanted.services),
                        "domains": sorted(wanted.domains),
                    },
                )
                assert row is not None
                plan = MaintenancePlan(
                    "open",
                    wanted,
                    plan.reason,
                    plan.expected_end,
                    (MaintenanceWindow.from_row(row),),
                )
            elif plan.action == "move_end":
                db.execute(
                    "UPDATE opslib.maintenance_windows SET expected_end = %s WHERE id = %s",
                    (plan.expected_end, plan.windows[0].id),
                )
        self.invalidate()
        return plan

    def plan_disable(self) -> MaintenancePlan:
        """What ``disable`` would do now (reads, changes nothing)."""
        return plan_disable(self.status().windows)

    def disable(self, actor: str | None = None) -> MaintenancePlan:
        """Close every open window. Idempotent: with none open it does nothing. Returns what
        was done."""
        db = self._db
        with db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            plan = plan_disable(self.status().windows)
            if plan.windows:
                db.execute(
                    "UPDATE opslib.maintenance_windows SET ended_at = now(), ended_by = %s"
                    " WHERE id = ANY(%s) AND ended_at IS NULL",
                    (actor or current_actor(), [w.id for w in plan.windows]),
                )
        self.invalidate()
        return plan

    @property
    def _default_length(self) -> timedelta:
        return timedelta(minutes=self.settings.default_minutes)

    def _db_now(self) -> datetime:
        row = self._db.fetch_one("SELECT now() AS now")
        assert row is not None
        now: datetime = row["now"]
        return now
