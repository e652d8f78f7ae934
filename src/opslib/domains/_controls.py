"""Per-domain controls in the ``opslib`` schema: cooldown and pause (``opslib.domain_state``),
scraping strategies (``opslib.strategies``), and auto-cooldown on a high ban share.

Scrapers ask :meth:`DomainControls.is_allowed` and :meth:`DomainControls.strategy` as often as
they like: both answer from a snapshot read at most once per ``cache_seconds``, and a cooldown
in the snapshot ends by itself at its time (on the local monotonic clock), refresh or not.
Operators change state with plan-then-apply methods under an advisory lock.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, LiteralString

from psycopg import sql

from opslib.adapters import Database
from opslib.audit import AuditLog, current_actor
from opslib.config import DomainControlSettings
from opslib.domains._state import DomainPlan, DomainState
from opslib.domains._strategy import Strategy, StrategyVersion
from opslib.errors import InputError, OpsError
from opslib.quality import PlatformSchema
from opslib.ratelimit import check_domain

__all__ = ["AUTO_ACTOR", "AutoCooldown", "DomainControls"]

_log = logging.getLogger(__name__)

AUTO_ACTOR = "opslib auto-cooldown"
"""Who auto-cooldown acts as, in ``opslib.domain_state`` and the audit log."""
_LOCK = 0x646F6D61696E  # "domain": one change of domain controls at a time
_NEVER = float("-inf")
_DEFAULT = Strategy()

_BLOCKED: LiteralString = """
SELECT domain, paused,
       extract(epoch FROM cooling_until - clock_timestamp())::float8 AS remaining
FROM opslib.domain_state WHERE paused OR cooling_until > clock_timestamp()
"""
_ACTIVE_STRATEGIES: LiteralString = (
    "SELECT domain, version, body FROM opslib.strategies WHERE active"
)
_STATE_COLUMNS: LiteralString = "domain, cooling_until, paused, reason, actor, auto, changed_at"
_STATES: LiteralString = (
    "SELECT " + _STATE_COLUMNS + " FROM opslib.domain_state"
    " WHERE %(domain)s::text IS NULL OR domain = %(domain)s ORDER BY domain"
)
_UPSERT_STATE: LiteralString = """
INSERT INTO opslib.domain_state AS s (domain, cooling_until, paused, reason, actor, auto,
                                      last_ended, changed_at)
VALUES (%(domain)s, %(until)s, %(paused)s, %(reason)s, %(actor)s, %(auto)s, %(ended)s, now())
ON CONFLICT (domain) DO UPDATE SET cooling_until = excluded.cooling_until,
    paused = excluded.paused, reason = excluded.reason, actor = excluded.actor,
    auto = excluded.auto, changed_at = now(),
    last_ended = coalesce(excluded.last_ended, s.last_ended)
"""
_VERSION_COLUMNS: LiteralString = "domain, version, body, active, actor, note, created_at"

# Requests and bans per domain over the window, counting only requests made after the domain's
# last cooldown (or pause) ended: a cooldown that ends must not be restarted by the bans that
# caused it.
_BANS = """
SELECT lower(l.{domain}) AS domain, count(*) AS requests,
       count(*) FILTER (WHERE {is_ban}) AS bans
FROM {table} l
LEFT JOIN opslib.domain_state s ON s.domain = lower(l.{domain})
WHERE l.{started_at} > now() - make_interval(secs => %(window)s)
  AND l.{started_at} > coalesce(greatest(s.last_ended, s.cooling_until), '-infinity')
  AND NOT coalesce(s.paused, false)
  AND (s.cooling_until IS NULL OR s.cooling_until <= now())
GROUP BY 1
"""

Snapshot = tuple[float, Mapping[str, float], Mapping[str, tuple[int, Strategy]]]
"""(expires, blocked domain -> local monotonic end (inf: paused), domain -> active strategy)."""


@dataclass(frozen=True)
class AutoCooldown:
    """A cooldown auto-cooldown started: the domain, its ban share and until when."""

    domain: str
    requests: int
    bans: int
    until: datetime

    @property
    def share(self) -> float:
        """Bans per request over the window."""
        return self.bans / self.requests if self.requests else 0.0

    def reason(self, minutes: float) -> str:
        """Why, in the words stored with the cooldown."""
        return (
            f"ban share {self.share:.0%} ({self.bans} of {self.requests} requests in the last"
            f" {minutes:g} min)"
        )


class DomainControls:
    """Cooldown, pause and strategies of every domain in the ``opslib`` schema of ``db``.

    Safe to share between threads; give it a :class:`Database` of its own (the refresh uses
    its connection). ``clock`` (monotonic seconds) is injectable for tests.
    """

    def __init__(
        self,
        db: Database,
        settings: DomainControlSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self.settings = settings if settings is not None else DomainControlSettings()
        self._clock = clock
        self._snapshot: Snapshot = (_NEVER, {}, {})
        self._lock = threading.Lock()
        self._failing: str | None = None

    @property
    def database(self) -> Database:
        """The database the controls live in."""
        return self._db

    # the scrapers' side (cached)

    def is_allowed(self, domain: str) -> bool:
        """Whether scrapers may request ``domain`` now: not paused, not cooling down."""
        _, blocked, _ = self._current()
        end = blocked.get(domain)
        if end is None:
            end = blocked.get(domain.lower().rstrip("."))
        return end is None or self._clock() >= end

    def blocked_domains(self) -> frozenset[str]:
        """The domains scrapers must leave alone now (paused or cooling down)."""
        _, blocked, _ = self._current()
        now = self._clock()
        return frozenset(d for d, end in blocked.items() if now < end)

    def strategy(self, domain: str) -> Strategy:
        """The active strategy of ``domain`` (the default :class:`Strategy` when none)."""
        _, _, strategies = self._current()
        found = strategies.get(domain) or strategies.get(domain.lower().rstrip("."))
        return found[1] if found else _DEFAULT

    def strategy_version(self, domain: str) -> int | None:
        """The active strategy's version (cached like ``strategy``), None for the default."""
        _, _, strategies = self._current()
        found = strategies.get(domain.lower().rstrip("."))
        return found[0] if found else None

    @property
    def unreachable(self) -> str | None:
        """Why the last read failed (the last snapshot read is kept meanwhile), or None."""
        return self._failing

    def invalidate(self) -> None:
        """Forget the snapshot: the next question reads the database."""
        self._snapshot = (_NEVER, *self._snapshot[1:])

    def _current(self) -> Snapshot:
        snapshot = self._snapshot
        if self._clock() >= snapshot[0]:
            snapshot = self._refresh()
        return snapshot

    def _refresh(self) -> Snapshot:
        with self._lock:
            if self._clock() < self._snapshot[0]:
                return self._snapshot
            try:
                rows = self._db.fetch_all(_BLOCKED)
                now = self._clock()
                blocked = {
                    r["domain"]: math.inf if r["paused"] else now + float(r["remaining"])
                    for r in rows
                }
                strategies = {
                    r["domain"]: (int(r["version"]), Strategy.model_validate(r["body"]))
                    for r in self._db.fetch_all(_ACTIVE_STRATEGIES)
                }
            except OpsError as exc:
                if self._failing is None:
                    _log.warning("domain controls cannot be read (keeping the last read): %s", exc)
                self._failing = str(exc)
                self._snapshot = (self._clock() + self.settings.cache_seconds, *self._snapshot[1:])
                return self._snapshot
            if self._failing is not None:
                _log.warning("domain controls readable again")
            self._failing = None
            self._snapshot = (self._clock() + self.settings.cache_seconds, blocked, strategies)
            return self._snapshot

    # the operators' side: state

    def states(self) -> list[DomainState]:
        """Every domain with a stored state (read, never cached)."""
        return [DomainState.from_row(r) for r in self._db.fetch_all(_STATES, {"domain": None})]

    def state(self, domain: str) -> DomainState:
        """``domain``'s state (active when none is stored)."""
        name = check_domain(domain)
        rows = self._db.fetch_all(_STATES, {"domain": name})
        return DomainState.from_row(rows[0]) if rows else DomainState(name)

    def now(self) -> datetime:
        """The database's clock."""
        row = self._db.fetch_one("SELECT now() AS now")
        assert row is not None
        now: datetime = row["now"]
        return now

    def plan_cooldown(self, domain: str, length: timedelta | None, reason: str = "") -> DomainPlan:
        """What ``cooldown`` would do (reads, changes nothing); ``length`` None ends one."""
        before, now = self.state(domain), self.now()
        return _plan_cooldown(before, now, length, reason)

    def cooldown(
        self,
        domain: str,
        length: timedelta | None,
        *,
        reason: str = "",
        actor: str | None = None,
        auto: bool = False,
    ) -> DomainPlan:
        """Stop scrapers requesting ``domain`` for ``length`` (a cooldown ends by itself);
        ``length`` None ends the cooldown now. Returns what was done."""
        name = check_domain(domain)
        with self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            plan = _plan_cooldown(self.state(name), self.now(), length, reason)
            self._apply(plan, actor, auto=auto)
        self.invalidate()
        return plan

    def plan_pause(self, domain: str, paused: bool, reason: str = "") -> DomainPlan:
        """What ``pause`` (or, with ``paused`` False, ``resume``) would do."""
        return _plan_pause(self.state(domain), paused, reason)

    def pause(
        self, domain: str, paused: bool = True, *, reason: str = "", actor: str | None = None
    ) -> DomainPlan:
        """Pause ``domain`` until it is resumed (``paused`` False resumes it; a cooldown still
        running is ended too). Returns what was done."""
        name = check_domain(domain)
        with self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            plan = _plan_pause(self.state(name), paused, reason)
            self._apply(plan, actor)
        self.invalidate()
        return plan

    def _apply(self, plan: DomainPlan, actor: str | None, *, auto: bool = False) -> None:
        if not plan.changes:
            return
        before = plan.before
        values: dict[str, Any] = {
            "domain": plan.domain,
            "until": before.cooling_until,
            "paused": before.paused,
            "reason": plan.reason or before.reason,
            "actor": actor or current_actor(),
            "auto": auto,
            "ended": None,
        }
        if plan.action in ("cooldown", "extend"):
            values["until"] = plan.until
        elif plan.action == "end":
            values.update(until=None, ended=self.now(), reason="")
        elif plan.action == "pause":
            values["paused"] = True
        elif plan.action == "resume":
            values.update(paused=False, until=None, ended=self.now(), reason="")
        self._db.execute(_UPSERT_STATE, values)

    # auto-cooldown

    def auto_cooldown(
        self, schema: PlatformSchema, audit: AuditLog | None = None
    ) -> list[AutoCooldown]:
        """Start a cooldown on every domain whose ban share in ``scrape_logs`` over the last
        ``ban_window_minutes`` reaches ``ban_share`` (with ``min_requests`` at least), and record
        each in the audit log (``domains.cooldown``, ``auto``). Only requests made after a
        domain's last cooldown count. One caller at a time does the work (a second, meanwhile,
        returns nothing); cheap enough for every scraper to call every minute."""
        settings = self.settings
        query = self._ban_query(schema)
        started: list[AutoCooldown] = []
        with self._db.transaction():
            row = self._db.fetch_one("SELECT pg_try_advisory_xact_lock(%s) AS got", (_LOCK,))
            if not row or not row["got"]:
                return []
            counts = self._db.fetch_all(
                query,
                {
                    "window": settings.ban_window_minutes * 60,
                    "outcomes": list(settings.ban_outcomes),
                    "statuses": list(settings.ban_statuses),
                },
            )
            now = self.now()
            length = timedelta(minutes=settings.cooldown_minutes)
            for count in counts:
                requests, bans = int(count["requests"]), int(count["bans"])
                if requests < settings.min_requests or bans < settings.ban_share * requests:
                    continue
                try:
                    name = check_domain(str(count["domain"]))
                except InputError:
                    continue
                found = AutoCooldown(name, requests, bans, now + length)
                reason = found.reason(settings.ban_window_minutes)
                plan = _plan_cooldown(self.state(name), now, length, reason)
                if plan.action != "cooldown":
                    continue
                self._apply(plan, AUTO_ACTOR, auto=True)
                if audit is not None:
                    audit.record(
                        "domains.cooldown",
                        {"domain": name, "for": f"{settings.cooldown_minutes:g}m", "auto": True,
                         "requests": requests, "bans": bans},
                        dry_run=False, outcome="ok", detail=plan.describe(),
                    )  # fmt: skip
                _log.warning("auto-cooldown: %s", plan.describe())
                started.append(found)
        if started:
            self.invalidate()
        return started

    def monitored_domains(self, schema: PlatformSchema) -> set[str]:
        """The domains of the platform's ``monitored_urls`` (configured names), lower case."""
        schema.require("monitored_urls", "domain")
        query = sql.SQL("SELECT DISTINCT lower({}) AS domain FROM {}").format(
            schema.column("monitored_urls", "domain"), schema.table("monitored_urls")
        )
        found = set()
        for row in self._db.fetch_all(query):
            try:
                found.add(check_domain(str(row["domain"])))
            except InputError:
                continue
        return found

    def _ban_query(self, schema: PlatformSchema) -> sql.Composed:
        schema.require("scrape_logs", "domain", "started_at")
        table = schema.tables.scrape_logs
        if schema.has("scrape_logs", "outcome"):
            is_ban = sql.SQL("l.{} = ANY(%(outcomes)s)").format(sql.Identifier(table.outcome))
        else:
            schema.require("scrape_logs", "status_code")
            is_ban = sql.SQL("l.{} = ANY(%(statuses)s)").format(sql.Identifier(table.status_code))
        return sql.SQL(_BANS).format(
            domain=sql.Identifier(table.domain),
            started_at=sql.Identifier(table.started_at),
            table=schema.table("scrape_logs"),
            is_ban=is_ban,
        )

    # the operators' side: strategies

    def versions(self, domain: str) -> list[StrategyVersion]:
        """Every stored version of ``domain``'s strategy, newest first."""
        rows = self._db.fetch_all(
            "SELECT " + _VERSION_COLUMNS + " FROM opslib.strategies WHERE domain = %s"
            " ORDER BY version DESC",
            (check_domain(domain),),
        )
        return [StrategyVersion.from_row(r) for r in rows]

    def active_versions(self) -> list[StrategyVersion]:
        """The active version of every domain that has one."""
        rows = self._db.fetch_all(
            "SELECT " + _VERSION_COLUMNS + " FROM opslib.strategies WHERE active ORDER BY domain"
        )
        return [StrategyVersion.from_row(r) for r in rows]

    def set_strategy(
        self, domain: str, strategy: Strategy, *, actor: str | None = None, note: str = ""
    ) -> tuple[StrategyVersion | None, StrategyVersion | None]:
        """Store ``strategy`` as ``domain``'s next version and make it active (unless the active
        one is the same: then nothing changes). Returns (the active before, the active now)."""
        name = check_domain(domain)
        with self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            versions = self.versions(name)
            before = next((v for v in versions if v.active), None)
            if before is not None and before.strategy == strategy:
                return before, before
            self._db.execute(
                "UPDATE opslib.strategies SET active = false WHERE domain = %s AND active", (name,)
            )
            row = self._db.fetch_one(
                "INSERT INTO opslib.strategies (domain, version, body, active, actor, note)"
                " VALUES (%(domain)s, %(version)s, %(body)s::jsonb, true, %(actor)s, %(note)s)"
                " RETURNING " + _VERSION_COLUMNS,
                {
                    "domain": name,
                    "version": max((v.version for v in versions), default=0) + 1,
                    "body": strategy.model_dump_json(),
                    "actor": actor or current_actor(),
                    "note": note,
                },
            )
            assert row is not None
        self.invalidate()
        return before, StrategyVersion.from_row(row)

    def plan_rollback(self, domain: str) -> tuple[StrategyVersion, StrategyVersion]:
        """(the active version, the one before it) that ``rollback`` would switch between;
        InputError when there is none to go back to."""
        name = check_domain(domain)
        versions = self.versions(name)
        active = next((v for v in versions if v.active), None)
        if active is None:
            raise InputError(f"{name} has no strategy to roll back (opslib strategies set)")
        earlier = [v for v in versions if v.version < active.version]
        if not earlier:
            raise InputError(
                f"{name}: version {active.version} is the first strategy, nothing to roll back to"
            )
        return active, earlier[0]

    def rollback(self, domain: str) -> tuple[StrategyVersion, StrategyVersion]:
        """Make the version before the active one active again (every version is kept).
        Returns (the version left, the version now active)."""
        name = check_domain(domain)
        with self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            left, back = self.plan_rollback(name)
            self._db.execute(
                "UPDATE opslib.strategies SET active = false WHERE domain = %s AND active", (name,)
            )
            self._db.execute(
                "UPDATE opslib.strategies SET active = true WHERE domain = %s AND version = %s",
                (name, back.version),
            )
        self.invalidate()
        return left, StrategyVersion(back.domain, back.version, back.strategy, True, back.actor,
                                     back.created_at, back.note)  # fmt: skip


def _plan_cooldown(
    before: DomainState, now: datetime, length: timedelta | None, reason: str
) -> DomainPlan:
    state = before.state(now)
    if length is None:
        if state == "cooling":
            return DomainPlan(before.domain, "end", before)
        return DomainPlan(before.domain, "none", before)
    until = now + length
    text = " ".join(reason.split())[:500] or "cooldown"
    if state == "cooling":
        assert before.cooling_until is not None
        if until <= before.cooling_until:
            return DomainPlan(before.domain, "none", before, before.cooling_until, before.reason)
        return DomainPlan(before.domain, "extend", before, until, text)
    return DomainPlan(before.domain, "cooldown", before, until, text)


def _plan_pause(before: DomainState, paused: bool, reason: str) -> DomainPlan:
    if paused:
        if before.paused:
            return DomainPlan(before.domain, "none", before, reason=before.reason)
        return DomainPlan(
            before.domain, "pause", before, reason=" ".join(reason.split()) or "paused"
        )
    if before.paused or before.cooling_until is not None:
        return DomainPlan(before.domain, "resume", before)
    return DomainPlan(before.domain, "none", before)
