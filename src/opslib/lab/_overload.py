"""The lab fault ``overload``: more URLs fall due than the workers can scrape, and the queue
grows. As after a bad import on a busy day, the low-priority URLs (priority 7-10, the lab's
lowest) get an interval :data:`OVERLOAD_FACTOR` times shorter, the workers run at
:data:`OVERLOAD_SPEED` of their pace (contended hosts), and every URL falls due at once: the
URLs then ask about twice what the workers manage. ``opslib urls pause --priority low`` (or
``opslib urls interval --priority low --factor 8``) brings the demand back under the workers'
capacity. ``heal`` puts back every URL's interval from the lab's catalogue and the workers'
pace, and resumes what opslib paused, forgetting the intervals it recorded.
"""

from __future__ import annotations

from typing import Protocol

from opslib.adapters import Database
from opslib.lab._catalog import HEADROOM, catalog
from opslib.lab._control import ControlFile, FaultRecord
from opslib.lab._settings import LabSettings
from opslib.urls import UrlControls

__all__ = ["LOW_PRIORITY", "OVERLOAD_FACTOR", "OVERLOAD_SPEED", "heal_overload", "inject_overload"]

OVERLOAD_FACTOR = 8
"""How many times shorter the low-priority URLs' intervals become."""
OVERLOAD_SPEED = 0.7
"""The workers' pace under the fault (the lab's scrape rate x 1.5 x this)."""
LOW_PRIORITY = (7, 10)
"""The priorities the fault speeds up (what ``urls.priorities`` calls low by default)."""


class _Host(Protocol):
    @property
    def settings(self) -> LabSettings: ...

    @property
    def control(self) -> ControlFile: ...

    def database(self) -> Database: ...


def inject_overload(host: _Host, target: str | None) -> str:
    """Shorten the low-priority intervals, slow the workers, make every URL due now."""
    _pace(host, OVERLOAD_SPEED)
    with host.database() as db:
        changed = db.execute(
            "UPDATE monitored_urls SET check_interval = check_interval / %(factor)s"
            " WHERE priority BETWEEN %(lowest)s AND %(highest)s",
            {"factor": OVERLOAD_FACTOR, "lowest": LOW_PRIORITY[0], "highest": LOW_PRIORITY[1]},
        )
        db.execute("UPDATE monitored_urls SET next_check_at = now() WHERE active")
        row = db.fetch_one(
            "SELECT sum(3600 / extract(epoch FROM check_interval)) AS per_hour"
            " FROM monitored_urls WHERE active"
        )
    asked = float(row["per_hour"]) / 3600 if row and row["per_hour"] is not None else 0.0
    capacity = HEADROOM * host.settings.scrape_rate * OVERLOAD_SPEED
    return (
        f"overload: {changed} low-priority URLs checked {OVERLOAD_FACTOR}x as often; the URLs ask"
        f" {asked:.1f} scrapes/s of workers that manage {capacity:.1f}"
    )


def heal_overload(host: _Host, record: FaultRecord) -> str:
    """Every URL's interval from the catalogue again; opslib's pauses and records undone."""
    products = catalog(host.settings)
    with host.database() as db:
        UrlControls(db).resume()
        with db.transaction():
            db.execute("DELETE FROM opslib.url_intervals")
            db.execute(
                "UPDATE monitored_urls m SET check_interval = make_interval(secs => c.s)"
                " FROM unnest(%(ids)s::bigint[], %(secs)s::float8[]) AS c(id, s)"
                " WHERE m.id = c.id AND m.check_interval <> make_interval(secs => c.s)",
                {"ids": [p.n for p in products], "secs": [p.check_interval_s for p in products]},
            )
    _pace(host, 1.0)
    return "overload: every URL at its own interval again, nothing paused, workers at full pace"


def _pace(host: _Host, speed: float) -> None:
    control = host.control.read().model_copy(deep=True)
    control.workers.speed = speed
    host.control.write(control)
