"""Lab fault ``key-aged``: one of the lab API's client keys was never rotated.

``inject`` moves the live key's creation :data:`AGE_DAYS` days back, past any sensible
``security.key_age_days``, so ``emergency.security``'s key-age check names it with
``opslib keys rotate PREFIX``. ``heal`` undoes the fault and any rotation made meanwhile: the
successors are deleted, the old key lives on without an expiry and gets its creation time
back, so the lab's normal client keeps being served.
"""

from __future__ import annotations

from typing import Protocol

from opslib.adapters import Database
from opslib.lab._control import FaultRecord
from opslib.lab._settings import LabSettings

__all__ = ["AGE_DAYS", "DEFAULT_KEY", "heal_key_aged", "inject_key_aged", "key_target"]

AGE_DAYS = 400
DEFAULT_KEY = "lab-client-1"
"""The key ``key-aged`` targets by default (the lab API's first normal client)."""
_SHIFT = f"{AGE_DAYS} days"


class _Host(Protocol):
    def database(self) -> Database: ...


def key_target(_settings: LabSettings, target: str | None) -> str:
    """The key name: ``target``, else :data:`DEFAULT_KEY`."""
    return target or DEFAULT_KEY


def inject_key_aged(host: _Host, target: str | None) -> str:
    with host.database() as db:
        moved = db.execute(
            "UPDATE opslib.api_keys SET created_at = created_at - %s::interval"
            " WHERE name = %s AND revoked_at IS NULL AND expires_at IS NULL",
            (_SHIFT, target),
        )
    if not moved:
        return f"key-aged: no live key named {target} (is the lab API up?)"
    return f"key-aged: {target}'s key created {AGE_DAYS} days ago, never rotated"


def heal_key_aged(host: _Host, record: FaultRecord) -> str:
    with host.database() as db, db.transaction():
        aged = db.fetch_all(
            "SELECT id FROM opslib.api_keys WHERE name = %s"
            " AND created_at < now() - (%s::interval - interval '1 day')",
            (record.target, _SHIFT),
        )
        ids = [row["id"] for row in aged]
        db.execute("DELETE FROM opslib.api_keys WHERE replaces = ANY(%s)", (ids,))
        db.execute(
            "UPDATE opslib.api_keys SET created_at = created_at + %s::interval,"
            " expires_at = NULL WHERE id = ANY(%s)",
            (_SHIFT, ids),
        )
    return f"key-aged: {record.target}'s key as new again ({len(ids)} row(s))"
