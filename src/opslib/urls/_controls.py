"""Pause and slow monitored URLs through what the platform's scheduler already honours.

A pause sets the platform's ``monitored_urls.active`` to false and records the URL in
``opslib.paused_urls`` (selection, reason, who, until when); resume sets ``active`` back only
for the URLs recorded there, so a URL someone else deactivated stays off. A pause past its
``until`` is resumed by :meth:`UrlControls.resume_expired`, which every ``opslib urls`` command
runs first (and ``opslib urls resume --expired`` from a timer, or the lab's scrapers).
An interval change writes ``check_interval`` and records each URL's original interval in
``opslib.url_intervals`` the first time, so ``restore`` puts back exactly that.
Every change runs in one transaction under an advisory lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, LiteralString

from psycopg import sql

from opslib.adapters import Database
from opslib.audit import AuditLog, current_actor
from opslib.config import PlatformTables, UrlControlSettings
from opslib.errors import InputError
from opslib.quality import PlatformSchema
from opslib.urls._model import (
    IntervalChange,
    IntervalPlan,
    PausePlan,
    ResumePlan,
    Selection,
    UrlLoad,
)

__all__ = ["AUTO_RESUME_ACTOR", "UrlControls"]

AUTO_RESUME_ACTOR = "opslib auto-resume"
"""Who an automatic resume acts as, in the audit log."""
_LOCK = 0x75726C73  # "urls": one change of URL controls at a time

_URLS = """
SELECT u.{id}::text AS id, {active} AS active, {seconds} AS seconds,
       p.url_id IS NOT NULL AS paused, i.original_seconds
FROM {table} u
LEFT JOIN opslib.paused_urls p ON p.url_id = u.{id}::text
LEFT JOIN opslib.url_intervals i ON i.url_id = u.{id}::text
WHERE {where}
ORDER BY 1
"""
_EXPIRED: LiteralString = "SELECT url_id FROM opslib.paused_urls WHERE until <= now()"
_ALL_PAUSED: LiteralString = "SELECT url_id FROM opslib.paused_urls"


class UrlControls:
    """Pause, resume and re-interval the platform's monitored URLs (``opslib urls``).

    ``db`` holds the platform tables (named by ``tables``) and opslib's schema.
    """

    def __init__(
        self,
        db: Database,
        settings: UrlControlSettings | None = None,
        tables: PlatformTables | None = None,
        *,
        default_interval_seconds: float = 3600.0,
    ) -> None:
        self._db = db
        self._settings = settings or UrlControlSettings()
        self._schema = PlatformSchema.read(db, tables or PlatformTables())
        self._default = default_interval_seconds

    # reading

    def _seconds(self) -> sql.Composable:
        if self._schema.has("monitored_urls", "check_interval"):
            column = self._schema.column("monitored_urls", "check_interval")
            return sql.SQL("greatest(extract(epoch FROM u.{}::text::interval)::float8, 1)").format(
                column
            )
        return sql.SQL("{}::float8").format(sql.Literal(self._default))

    def _where(self, selection: Selection | None) -> tuple[sql.Composable, dict[str, Any]]:
        parts: list[sql.Composable] = [sql.SQL("true")]
        params: dict[str, Any] = {}
        if selection is not None and selection.priority is not None:
            self._schema.require("monitored_urls", "priority")
            parts.append(
                sql.SQL("u.{} BETWEEN %(lowest)s AND %(highest)s").format(
                    self._schema.column("monitored_urls", "priority")
                )
            )
            params.update(lowest=selection.lowest, highest=selection.highest)
        if selection is not None and selection.domain is not None:
            self._schema.require("monitored_urls", "domain")
            parts.append(
                sql.SQL("lower(u.{}) = %(domain)s").format(
                    self._schema.column("monitored_urls", "domain")
                )
            )
            params["domain"] = selection.domain
        return sql.SQL(" AND ").join(parts), params

    def _rows(self, selection: Selection | None) -> list[dict[str, Any]]:
        self._schema.require("monitored_urls", "id")
        where, params = self._where(selection)
        active = (
            sql.SQL("u.{}").format(self._schema.column("monitored_urls", "active"))
            if self._schema.has("monitored_urls", "active")
            else sql.SQL("true")
        )
        query = sql.SQL(_URLS).format(
            id=self._schema.column("monitored_urls", "id"),
            active=active,
            seconds=self._seconds(),
            table=self._schema.table("monitored_urls"),
            where=where,
        )
        return self._db.fetch_all(query, params)

    def load(self, selection: Selection | None = None) -> UrlLoad:
        """The active URLs (of ``selection``, else all) and the requests per hour they ask."""
        return _load(r for r in self._rows(selection) if r["active"])

    def paused(self) -> list[dict[str, Any]]:
        """Every pause opslib holds: url_id, selection, reason, actor, paused_at, until."""
        return self._db.fetch_all(
            "SELECT url_id, selection, reason, actor, paused_at, until FROM opslib.paused_urls"
            " ORDER BY until, url_id"
        )

    def now(self) -> datetime:
        """The database's clock."""
        row = self._db.fetch_one("SELECT now() AS now")
        assert row is not None
        return row["now"]  # type: ignore[no-any-return]

    # pause and resume

    def plan_pause(
        self, selection: Selection, length: timedelta | None = None, reason: str = ""
    ) -> PausePlan:
        """What :meth:`pause` would do (reads, changes nothing)."""
        self._schema.require("monitored_urls", "active")
        span = length or timedelta(hours=self._settings.default_pause_hours)
        if span > timedelta(hours=self._settings.max_pause_hours):
            raise InputError(
                f"--for: more than {self._settings.max_pause_hours:g} h (urls.max_pause_hours)"
            )
        rows = self._rows(selection)
        total = self.load()
        chosen = [r for r in rows if r["active"] and not r["paused"]]
        return PausePlan(
            selection=selection,
            url_ids=tuple(r["id"] for r in chosen),
            removed=_load(chosen),
            total=total,
            already_paused=sum(1 for r in rows if r["paused"]),
            until=self.now() + span,
            reason=reason,
        )

    def pause(
        self,
        selection: Selection,
        length: timedelta | None = None,
        *,
        reason: str = "",
        actor: str | None = None,
        force: bool = False,
    ) -> PausePlan:
        """Pause the active URLs of ``selection`` for ``length`` (default
        ``urls.default_pause_hours``). Refuses to pause every active URL unless ``force``."""
        with self._db.transaction():
            self._lock()
            self._resume(self._ids(_EXPIRED), AuditLog(self._db, AUTO_RESUME_ACTOR))
            plan = self.plan_pause(selection, length, reason)
            plan.check(force=force)
            if plan.changes:
                self._db.execute(
                    "INSERT INTO opslib.paused_urls (url_id, selection, reason, actor, until)"
                    " SELECT unnest(%(ids)s::text[]), %(selection)s, %(reason)s, %(actor)s,"
                    " %(until)s",
                    {
                        "ids": list(plan.url_ids),
                        "selection": selection.describe(),
                        "reason": reason,
                        "actor": actor or current_actor(),
                        "until": plan.until,
                    },
                )
                self._set_active(plan.url_ids, False)
        return plan

    def plan_resume(self, *, expired_only: bool = False) -> ResumePlan:
        """What :meth:`resume` would do."""
        ids = self._ids(_EXPIRED if expired_only else _ALL_PAUSED)
        return self._resume_plan(ids, expired_only)

    def resume(self, *, expired_only: bool = False) -> ResumePlan:
        """Turn back on the URLs opslib paused (every one, or those past their time)."""
        with self._db.transaction():
            self._lock()
            plan = self.plan_resume(expired_only=expired_only)
            self._resume(plan.url_ids, None)
        return plan

    def resume_expired(self, audit: AuditLog | None = None) -> ResumePlan:
        """Resume the pauses past their time (what every ``opslib urls`` command runs first);
        recorded in the audit log as ``urls.resume`` by :data:`AUTO_RESUME_ACTOR`."""
        with self._db.transaction():
            self._lock()
            plan = self.plan_resume(expired_only=True)
            self._resume(plan.url_ids, audit or AuditLog(self._db, AUTO_RESUME_ACTOR))
        return plan

    def _resume_plan(self, ids: Sequence[str], expired_only: bool) -> ResumePlan:
        wanted = set(ids)
        rows = [r for r in self._rows(None) if r["id"] in wanted] if wanted else []
        return ResumePlan(tuple(sorted(wanted)), _load(rows), expired_only)

    def _resume(self, ids: Sequence[str], audit: AuditLog | None) -> None:
        if not ids:
            return
        self._set_active(ids, True)
        self._db.execute(
            "DELETE FROM opslib.paused_urls WHERE url_id = ANY(%(ids)s::text[])", {"ids": list(ids)}
        )
        if audit is not None:
            audit.record(
                "urls.resume",
                {"expired": True},
                dry_run=False,
                outcome="ok",
                detail=f"resumed {len(ids)} URLs whose pause ended",
            )

    def _set_active(self, ids: Sequence[str], active: bool) -> None:
        query = sql.SQL("UPDATE {table} SET {active} = %(active)s WHERE {id}::text = ANY(%(ids)s)")
        self._db.execute(
            query.format(
                table=self._schema.table("monitored_urls"),
                active=self._schema.column("monitored_urls", "active"),
                id=self._schema.column("monitored_urls", "id"),
            ),
            {"active": active, "ids": list(ids)},
        )

    def _ids(self, query: LiteralString) -> list[str]:
        return [str(r["url_id"]) for r in self._db.fetch_all(query)]

    def _lock(self) -> None:
        self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))

    # intervals

    def plan_interval(self, selection: Selection, factor: float | None) -> IntervalPlan:
        """What :meth:`interval` would do: ``factor`` times each URL's interval within the floor
        and ceiling, or (``factor`` None) the recorded originals back."""
        self._schema.require("monitored_urls", "check_interval")
        s = self._settings
        if factor is not None and not (1 / s.max_factor <= factor <= s.max_factor):
            raise InputError(
                f"--factor {factor:g}: between {1 / s.max_factor:g} and {s.max_factor:g}"
                " (urls.max_factor)"
            )
        rows = self._rows(selection)
        changes = []
        for row in rows:
            seconds = float(row["seconds"])
            if factor is None:
                if row["original_seconds"] is None:
                    continue
                changes.append(
                    IntervalChange(row["id"], seconds, float(row["original_seconds"]), False)
                )
                continue
            wanted = seconds * factor
            bounded = min(max(wanted, s.interval_floor_seconds), s.interval_ceiling_seconds)
            # never the wrong way: a factor above 1 does not shorten an interval over the ceiling
            new = max(seconds, bounded) if factor >= 1 else min(seconds, bounded)
            changes.append(IntervalChange(row["id"], seconds, new, new != wanted))
        active = {r["id"] for r in rows if r["active"]}
        counted = [c for c in changes if c.url_id in active]
        return IntervalPlan(
            selection=selection,
            factor=factor,
            changes_=tuple(changes),
            before=UrlLoad(len(counted), sum(3600 / c.seconds for c in counted)),
            after=UrlLoad(len(counted), sum(3600 / c.new_seconds for c in counted)),
            floor=s.interval_floor_seconds,
            ceiling=s.interval_ceiling_seconds,
        )

    def interval(
        self, selection: Selection, factor: float | None, *, actor: str | None = None
    ) -> IntervalPlan:
        """Multiply the intervals of ``selection`` by ``factor`` (the first change of a URL
        records its original interval), or with ``factor`` None restore the originals."""
        with self._db.transaction():
            self._lock()
            self._resume(self._ids(_EXPIRED), AuditLog(self._db, AUTO_RESUME_ACTOR))
            plan = self.plan_interval(selection, factor)
            changed = [c for c in plan.changes_ if c.new_seconds != c.seconds or factor is None]
            if factor is not None and changed:
                self._db.execute(
                    "INSERT INTO opslib.url_intervals (url_id, original_seconds, selection, actor)"
                    " SELECT id, s, %(selection)s, %(actor)s"
                    " FROM unnest(%(ids)s::text[], %(secs)s::float8[]) AS v(id, s)"
                    " ON CONFLICT (url_id) DO NOTHING",
                    {
                        "ids": [c.url_id for c in changed],
                        "secs": [c.seconds for c in changed],
                        "selection": selection.describe(),
                        "actor": actor or current_actor(),
                    },
                )
            if changed:
                self._write_intervals(changed)
            if factor is None and changed:
                self._db.execute(
                    "DELETE FROM opslib.url_intervals WHERE url_id = ANY(%(ids)s::text[])",
                    {"ids": [c.url_id for c in changed]},
                )
        return plan

    def _write_intervals(self, changes: Sequence[IntervalChange]) -> None:
        column = self._schema.column("monitored_urls", "check_interval")
        table = self._schema.table("monitored_urls")
        row = self._db.fetch_one(
            sql.SQL("SELECT pg_typeof({})::text AS t FROM {} LIMIT 1").format(column, table)
        )
        kind = str(row["t"]) if row else "interval"
        value = (
            sql.SQL("make_interval(secs => v.s)")
            if kind.startswith("interval")
            else sql.SQL("round(v.s::numeric, 3)")
        )
        query = sql.SQL(
            "UPDATE {table} u SET {column} = {value}"
            " FROM unnest(%(ids)s::text[], %(secs)s::float8[]) AS v(id, s)"
            " WHERE u.{id}::text = v.id"
        ).format(
            table=table,
            column=column,
            value=value,
            id=self._schema.column("monitored_urls", "id"),
        )
        self._db.execute(
            query,
            {"ids": [c.url_id for c in changes], "secs": [c.new_seconds for c in changes]},
        )


def _load(rows: Any) -> UrlLoad:
    count, per_hour = 0, 0.0
    for row in rows:
        count += 1
        per_hour += 3600 / float(row["seconds"])
    return UrlLoad(count, per_hour)
