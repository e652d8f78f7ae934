"""The lab fault of weekly.performance_review: ``slow-week``.

A shop that got slower over the week: every request to it logged in the last 7 days takes
:data:`SLOWDOWN` times as long in ``scrape_logs`` (its p95 rises week on week). The rows it
changed carry a mark in ``worker``, so ``heal`` divides exactly those back, whatever the
scrapers logged meanwhile.
"""

from __future__ import annotations

from typing import Protocol

from psycopg import sql

from opslib.adapters import Database
from opslib.config import PlatformTables
from opslib.lab._control import FaultRecord

__all__ = ["SLOWDOWN", "heal_slow_week", "inject_slow_week"]

SLOWDOWN = 4
"""How many times longer a ``slow-week`` shop's requests of the last 7 days took."""
_MARK = "~slow-week"


class _Host(Protocol):
    def database(self) -> Database: ...


def _table() -> sql.Identifier:
    return sql.Identifier(*PlatformTables().scrape_logs.name.split("."))


def inject_slow_week(host: _Host, target: str | None) -> str:
    query = sql.SQL(
        "UPDATE {t} SET duration_ms = duration_ms * %(factor)s,"
        " worker = coalesce(worker, '') || %(mark)s"
        " WHERE domain = %(domain)s AND started_at >= now() - interval '7 days'"
        " AND duration_ms IS NOT NULL AND coalesce(worker, '') NOT LIKE %(marked)s"
    ).format(t=_table())
    params = {"factor": SLOWDOWN, "mark": _MARK, "domain": target, "marked": f"%{_MARK}"}
    with host.database() as db:
        rows = db.execute(query, params)
    return f"slow-week: {target}'s {rows} requests of the last 7 days took {SLOWDOWN}x as long"


def heal_slow_week(host: _Host, record: FaultRecord) -> str:
    query = sql.SQL(
        "UPDATE {t} SET duration_ms = duration_ms / %(factor)s,"
        " worker = nullif(left(worker, -%(length)s), '')"
        " WHERE worker LIKE %(marked)s"
    ).format(t=_table())
    params = {"factor": SLOWDOWN, "length": len(_MARK), "marked": f"%{_MARK}"}
    with host.database() as db:
        rows = db.execute(query, params)
    return f"slow-week: {record.target}'s {rows} requests back to their logged times"
