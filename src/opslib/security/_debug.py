"""Debug logging and request tracking (runbook: enable debug logging and request tracking),
switched through the platform's control channel: rows of ``opslib.debug_switches``.

A switch is on while it is not ended and its ``expires_at`` lies ahead: every reader honours the
expiry (the database's clock decides), so a switch goes off by itself and nothing has to wake up
to close it. Services ask :func:`debug_state` (or a :class:`DebugSwitch` of their own) as often
as they like: the switches are read at most once per ``security.cache_seconds``, and a cached
answer still ends at the switch's expiry. Operators turn it on and off with ``on`` / ``off``
(plan, then apply under an advisory lock).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, LiteralString

from opslib.adapters import Database
from opslib.audit import current_actor
from opslib.config import SecuritySettings, Settings
from opslib.errors import InputError, OpsError
from opslib.maintenance import MaintenanceScope, check_reason
from opslib.results import CheckResult, Measurement, Table

__all__ = [
    "DEFAULT_LENGTH",
    "DebugPlan",
    "DebugState",
    "DebugStatus",
    "DebugSwitch",
    "DebugSwitchEntry",
    "check_debug_switches",
    "debug_state",
    "enable_debug_logging",
    "enable_request_tracking",
    "max_debug_length",
]

_log = logging.getLogger(__name__)
_SOP = "emergency.security"
_LOCK = 0x6465627567  # "debug": one change of the debug switches at a time, across processes
DEFAULT_LENGTH = timedelta(hours=1)
"""How long ``debug on`` lasts when no length is given."""
_COLUMNS: LiteralString = (
    "id, services, debug_logging, request_tracking, reason, actor, started_at, expires_at,"
    " ended_at, ended_by, incident"
)
_EFFECTIVE: LiteralString = (
    "SELECT services, debug_logging, request_tracking, expires_at, now() AS now"
    " FROM opslib.debug_switches WHERE ended_at IS NULL AND expires_at > now()"
)
_OPEN: LiteralString = (
    "SELECT " + _COLUMNS + " FROM opslib.debug_switches WHERE ended_at IS NULL"
    " ORDER BY started_at, id"
)


@dataclass(frozen=True)
class DebugState:
    """What a service should do now: log at debug level, give each request an id (and
    return it as ``X-Request-ID``), and until when (None: off)."""

    debug_logging: bool = False
    request_tracking: bool = False
    until: datetime | None = None

    @property
    def level(self) -> int:
        """The log level to run at: ``logging.DEBUG`` while debug logging is on, else INFO."""
        return logging.DEBUG if self.debug_logging else logging.INFO

    @property
    def on(self) -> bool:
        """Whether anything is switched on."""
        return self.debug_logging or self.request_tracking


_OFF = DebugState()


@dataclass(frozen=True)
class DebugSwitchEntry:
    """One switch: what it turns on, for which services (none: all), why, who, since and until
    when; ``incident`` is the incident open when it was switched on."""

    id: int
    scope: MaintenanceScope
    debug_logging: bool
    request_tracking: bool
    reason: str
    actor: str
    started_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None
    ended_by: str | None = None
    incident: int | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> DebugSwitchEntry:
        """A switch from a row of ``opslib.debug_switches``."""
        return cls(
            id=int(row["id"]),
            scope=MaintenanceScope(frozenset(row["services"])),
            debug_logging=bool(row["debug_logging"]),
            request_tracking=bool(row["request_tracking"]),
            reason=str(row["reason"]),
            actor=str(row["actor"]),
            started_at=row["started_at"],
            expires_at=row["expires_at"],
            ended_at=row["ended_at"],
            ended_by=row["ended_by"],
            incident=row["incident"],
        )

    def effective(self, now: datetime) -> bool:
        """Not ended and not expired: services honour it."""
        return self.ended_at is None and self.expires_at > now

    @property
    def length(self) -> timedelta:
        """How long it is on for, from start to expiry."""
        return self.expires_at - self.started_at

    @property
    def what(self) -> str:
        """``debug logging and request tracking``, or one of them."""
        parts = ["debug logging"] * self.debug_logging + [
            "request tracking"
        ] * self.request_tracking
        return " and ".join(parts)

    def as_dict(self, now: datetime | None = None) -> dict[str, Any]:
        """JSON-ready; with ``now``, also whether it is in effect."""
        data: dict[str, Any] = {
            "id": self.id,
            "services": sorted(self.scope.services) or "all",
            "debug_logging": self.debug_logging,
            "request_tracking": self.request_tracking,
            "reason": self.reason,
            "actor": self.actor,
            "started_at": self.started_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "ended_by": self.ended_by,
            "incident": self.incident,
        }
        if now is not None:
            data["effective"] = self.effective(now)
        return data


@dataclass(frozen=True)
class DebugStatus:
    """The switches not ended, as the database saw them at ``now`` (its own clock)."""

    switches: tuple[DebugSwitchEntry, ...]
    now: datetime

    @property
    def effective(self) -> tuple[DebugSwitchEntry, ...]:
        """The switches services honour now."""
        return tuple(s for s in self.switches if s.effective(self.now))


PlanAction = Literal["on", "extend", "keep", "off", "none"]


@dataclass(frozen=True)
class DebugPlan:
    """What ``on`` or ``off`` does (or did): switch ``on``, ``extend`` (or change) the switch
    of the same services, ``keep`` it, switch ``off`` the switches it names, or ``none``."""

    action: PlanAction
    scope: MaintenanceScope
    debug_logging: bool = True
    request_tracking: bool = True
    expires_at: datetime | None = None
    switches: tuple[DebugSwitchEntry, ...] = ()
    incident: int | None = None

    @property
    def changes(self) -> bool:
        """Whether applying it changes anything."""
        return self.action in ("on", "extend", "off")

    def describe(self) -> str:
        """One line saying what it does."""
        who = _services(self.scope)
        end = f"{self.expires_at:%Y-%m-%d %H:%M %Z}".strip() if self.expires_at else ""
        what = " and ".join(
            ["debug logging"] * self.debug_logging + ["request tracking"] * self.request_tracking
        )
        joined = f" (incident {self.incident})" if self.incident else ""
        if self.action == "on":
            return f"{what} on for {who} until {end}{joined}"
        if self.action == "extend":
            return f"{what} for {who}: now until {end}{joined}"
        if self.action == "keep":
            return f"{what} already on for {who} until {end}: nothing to change"
        if self.action == "off":
            listed = "; ".join(f"{s.what} for {_services(s.scope)}" for s in self.switches)
            return f"switch off {len(self.switches)} debug switch(es): {listed}"
        return f"debug logging and request tracking are off for {who}: nothing to switch off"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "action": self.action,
            "changes": self.changes,
            "services": sorted(self.scope.services) or "all",
            "debug_logging": self.debug_logging,
            "request_tracking": self.request_tracking,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "switches": [s.as_dict() for s in self.switches],
            "incident": self.incident,
            "summary": self.describe(),
        }


def _services(scope: MaintenanceScope) -> str:
    return "every service" if scope.everything else ", ".join(sorted(scope.services))


def max_debug_length(settings: Settings) -> timedelta:
    """The longest a switch may last: the critical limit of ``security.debug_hours``."""
    crit = settings.threshold("security.debug_hours").crit
    return timedelta(hours=crit if crit is not None else 4.0)


def check_length(length: timedelta, limit: timedelta) -> timedelta:
    """``length``, or InputError when it is not positive or longer than ``limit``."""
    if length <= timedelta(0):
        raise InputError("--for: the length must be positive")
    if length > limit:
        hours = limit.total_seconds() / 3600
        raise InputError(
            f"--for: at most {hours:g} h (the critical limit of security.debug_hours): debug"
            " logs fill disks and may carry personal data; switch it on again if need be"
        )
    return length


class DebugSwitch:
    """The debug switches in the ``opslib`` schema of ``db``.

    ``state`` is cheap (one query per ``settings.cache_seconds``, memory in between; ``clock``
    is injectable) and safe to share between threads; give it a :class:`Database` of its own.
    """

    def __init__(
        self,
        db: Database,
        settings: SecuritySettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self.settings = settings if settings is not None else SecuritySettings()
        self._clock = clock
        # (read again after, [(services, debug, tracking, ends at on clock, expires_at)])
        self._cache: tuple[float, tuple[_Snap, ...]] = (float("-inf"), ())
        # per service: (answer valid until, on the clock; the answer)
        self._answers: dict[str | None, tuple[float, DebugState]] = {}
        self._lock = threading.Lock()
        self._failing: str | None = None

    # the services' side

    def state(self, service: str | None = None) -> DebugState:
        """What ``service`` (None: a service that is not named) should do now; from memory for
        ``security.cache_seconds`` after each read, and never past a switch's expiry. When the
        switches cannot be read, the last known switches stay in force until they expire."""
        now = self._clock()
        hit = self._answers.get(service)
        if hit is not None and now < hit[0]:
            return hit[1]
        read_after, snaps = self._cache
        if now >= read_after:
            snaps = self._refresh()
            read_after, now = self._cache[0], self._clock()
        debug = tracking = False
        until: datetime | None = None
        valid = read_after
        for services, d, t, ends, expires in snaps:
            if ends <= now or (services and service not in services):
                continue
            debug, tracking = debug or d, tracking or t
            until = expires if until is None else max(until, expires)
            valid = min(valid, ends)
        answer = DebugState(debug, tracking, until) if until is not None else _OFF
        self._answers[service] = (valid, answer)
        return answer

    def invalidate(self) -> None:
        """Forget the cached switches: the next ``state`` reads the database."""
        self._cache = (float("-inf"), self._cache[1])
        self._answers = {}

    @property
    def unreachable(self) -> str | None:
        """Why the last read failed, or None."""
        return self._failing

    def _refresh(self) -> tuple[_Snap, ...]:
        with self._lock:
            read_after, snaps = self._cache
            if self._clock() < read_after:
                return snaps
            try:
                rows = self._db.fetch_all(_EFFECTIVE)
            except OpsError as exc:
                if self._failing is None:
                    _log.warning("debug switches cannot be read (keeping the last known): %s", exc)
                self._failing = str(exc)
            else:
                start = self._clock()
                snaps = tuple(
                    (
                        frozenset(r["services"]),
                        bool(r["debug_logging"]),
                        bool(r["request_tracking"]),
                        start + (r["expires_at"] - r["now"]).total_seconds(),
                        r["expires_at"],
                    )
                    for r in rows
                )
                self._failing = None
            self._cache = (self._clock() + self.settings.cache_seconds, snaps)
            self._answers = {}
            return snaps

    # the operators' side

    def status(self) -> DebugStatus:
        """The switches not ended now, by the database's clock (read, never cached)."""
        rows = self._db.fetch_all(_OPEN)
        return DebugStatus(tuple(DebugSwitchEntry.from_row(r) for r in rows), self._now())

    def plan_on(
        self,
        length: timedelta,
        *,
        scope: MaintenanceScope | None = None,
        debug_logging: bool = True,
        request_tracking: bool = True,
    ) -> DebugPlan:
        """What ``on`` would do now (reads, changes nothing)."""
        return _plan_on(
            self.status(),
            scope or MaintenanceScope(),
            length,
            debug_logging=debug_logging,
            request_tracking=request_tracking,
            incident=self._open_incident(),
        )

    def on(
        self,
        length: timedelta,
        *,
        reason: str,
        scope: MaintenanceScope | None = None,
        debug_logging: bool = True,
        request_tracking: bool = True,
        actor: str | None = None,
    ) -> DebugPlan:
        """Switch debug logging and/or request tracking on for ``scope`` (default: every
        service) for ``length``. Idempotent: the switch already on for the same services is
        kept, or its expiry and what it turns on changed. Joins the open incident."""
        text = check_reason(reason)
        wanted = scope or MaintenanceScope()
        db = self._db
        with db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            plan = _plan_on(
                self.status(),
                wanted,
                length,
                debug_logging=debug_logging,
                request_tracking=request_tracking,
                incident=self._open_incident(),
            )
            if plan.action == "on":
                row = db.fetch_one(
                    "INSERT INTO opslib.debug_switches (services, debug_logging, request_tracking,"
                    " reason, actor, expires_at, incident) VALUES (%(services)s, %(debug)s,"
                    " %(tracking)s, %(reason)s, %(actor)s, now() + %(length)s, %(incident)s)"
                    " RETURNING " + _COLUMNS,
                    {
                        "services": sorted(wanted.services),
                        "debug": debug_logging,
                        "tracking": request_tracking,
                        "reason": text,
                        "actor": actor or current_actor(),
                        "length": length,
                        "incident": plan.incident,
                    },
                )
                assert row is not None
                made = DebugSwitchEntry.from_row(row)
                plan = DebugPlan(
                    "on", wanted, debug_logging, request_tracking, made.expires_at, (made,),
                    plan.incident,
                )  # fmt: skip
            elif plan.action == "extend":
                row = db.fetch_one(
                    "UPDATE opslib.debug_switches SET expires_at = now() + %s,"
                    " debug_logging = %s, request_tracking = %s WHERE id = %s"
                    " RETURNING " + _COLUMNS,
                    (length, debug_logging, request_tracking, plan.switches[0].id),
                )
                assert row is not None
                made = DebugSwitchEntry.from_row(row)
                plan = DebugPlan(
                    "extend", wanted, debug_logging, request_tracking, made.expires_at, (made,),
                    plan.incident,
                )  # fmt: skip
        self.invalidate()
        return plan

    def plan_off(self, scope: MaintenanceScope | None = None) -> DebugPlan:
        """What ``off`` would do now (reads, changes nothing)."""
        return _plan_off(self.status(), scope or MaintenanceScope())

    def off(self, scope: MaintenanceScope | None = None, *, actor: str | None = None) -> DebugPlan:
        """End the switches for ``scope``: every switch when it is everything; else those naming
        one of its services and those for every service. Expired switches are ended too."""
        db = self._db
        with db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            plan = _plan_off(self.status(), scope or MaintenanceScope())
            if plan.switches:
                db.execute(
                    "UPDATE opslib.debug_switches SET ended_at = now(), ended_by = %s"
                    " WHERE id = ANY(%s) AND ended_at IS NULL",
                    (actor or current_actor(), [s.id for s in plan.switches]),
                )
        self.invalidate()
        return plan

    def _open_incident(self) -> int | None:
        row = self._db.fetch_one("SELECT id FROM opslib.incidents WHERE closed_at IS NULL")
        return int(row["id"]) if row is not None else None

    def _now(self) -> datetime:
        row = self._db.fetch_one("SELECT now() AS now")
        assert row is not None
        now: datetime = row["now"]
        return now


_Snap = tuple[frozenset[str], bool, bool, float, datetime]


def _plan_on(
    status: DebugStatus,
    scope: MaintenanceScope,
    length: timedelta,
    *,
    debug_logging: bool,
    request_tracking: bool,
    incident: int | None,
) -> DebugPlan:
    if not (debug_logging or request_tracking):
        raise InputError("switch on debug logging, request tracking or both")
    end = status.now + length
    same = next((s for s in status.effective if s.scope == scope), None)
    if same is None:
        return DebugPlan("on", scope, debug_logging, request_tracking, end, (), incident)
    unchanged = (same.debug_logging, same.request_tracking) == (debug_logging, request_tracking)
    if unchanged and abs(same.expires_at - end) < timedelta(minutes=1):
        return DebugPlan(
            "keep", scope, debug_logging, request_tracking, same.expires_at, (same,), incident
        )
    return DebugPlan("extend", scope, debug_logging, request_tracking, end, (same,), incident)


def _plan_off(status: DebugStatus, scope: MaintenanceScope) -> DebugPlan:
    ending = tuple(
        s
        for s in status.switches
        if scope.everything or s.scope.everything or not s.scope.services.isdisjoint(scope.services)
    )
    return DebugPlan("off" if ending else "none", scope, switches=ending)


def enable_debug_logging(
    db: Database,
    length: timedelta = DEFAULT_LENGTH,
    *,
    reason: str,
    services: Iterable[str] = (),
    request_tracking: bool = True,
    actor: str | None = None,
) -> DebugPlan:
    """Switch the services' log level to debug (and request tracking, unless told not to) for
    ``length``; it goes off by itself at the end."""
    scope = MaintenanceScope.of(services)
    return DebugSwitch(db).on(
        length, reason=reason, scope=scope, request_tracking=request_tracking, actor=actor
    )


def enable_request_tracking(
    db: Database,
    length: timedelta = DEFAULT_LENGTH,
    *,
    reason: str,
    services: Iterable[str] = (),
    actor: str | None = None,
) -> DebugPlan:
    """Give every request of the services an id (``X-Request-ID``) and trace it, for
    ``length``, without changing the log level."""
    scope = MaintenanceScope.of(services)
    return DebugSwitch(db).on(length, reason=reason, scope=scope, debug_logging=False, actor=actor)


_default: list[DebugSwitch] = []
_default_lock = threading.Lock()


def debug_state(service: str | None = None) -> DebugState:
    """What ``service`` should do now on the configured platform (``load_settings()``): its
    log level and whether to track requests. Cached like :meth:`DebugSwitch.state`; the
    switch is built once per process with a connection of its own."""
    if not _default:
        with _default_lock:
            if not _default:
                from opslib.config import load_settings
                from opslib.connect import open_database

                settings = load_settings()
                db = open_database(settings, application_name="opslib-debug-switch")
                _default.append(DebugSwitch(db, settings.security))
    return _default[0].state(service)


def check_debug_switches(status: DebugStatus, settings: Settings) -> CheckResult:
    """No debug switch in effect for longer than the critical limit of ``security.debug_hours``
    (from its start to its expiry): debug logs fill disks and carry request details. Switches
    past their expiry are off (readers honour it) and listed."""
    title = "debug logging and request tracking not left on past their time"
    limit = settings.threshold("security.debug_hours")
    measurements: list[Measurement] = []
    rows: list[tuple[str, ...]] = []
    actions: list[str] = []
    for switch in status.switches:
        who = _services(switch.scope)
        effective = switch.effective(status.now)
        state = "on" if effective else "expired (off: services honour the expiry)"
        rows.append(
            (
                who, switch.what, switch.actor, switch.reason,
                switch.started_at.isoformat(timespec="seconds"),
                switch.expires_at.isoformat(timespec="seconds"), state,
            )
        )  # fmt: skip
        if not effective:
            continue
        hours = round(switch.length.total_seconds() / 3600, 2)
        measurement = Measurement("debug_hours", hours, limit, who)
        if measurement.severity.rank:
            flags = "".join(f" --service {s}" for s in sorted(switch.scope.services))
            action = f"opslib security debug off{flags}"
            actions.append(action)
            measurement = Measurement(
                "debug_hours", hours, limit, who,
                f"{switch.what} on since {switch.started_at:%Y-%m-%d %H:%M %Z} until"
                f" {switch.expires_at:%Y-%m-%d %H:%M %Z} by {switch.actor}; next: {action}",
            )  # fmt: skip
        measurements.append(measurement)
    if not measurements:
        measurements.append(Measurement("debug_hours", 0.0, limit, note="debug logging is off"))
    return CheckResult(
        _SOP,
        title,
        tuple(measurements),
        remediation="; ".join(dict.fromkeys(actions)),
        tables=(
            Table(
                ("services", "what", "by", "reason", "since", "until", "state"),
                tuple(rows),
                "debug switches",
            ),
        ),
    )
