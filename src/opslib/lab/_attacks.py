"""Lab faults of issue 15 beyond brute force and scans: ``debug-left-on`` (a debug switch
nobody switched off, in effect far past the policy's limit)."""

from __future__ import annotations

from typing import Protocol

from opslib.adapters import Database

__all__ = ["DEBUG_REASON", "heal_debug_left_on", "inject_debug_left_on"]

DEBUG_REASON = "lab fault debug-left-on: switched on for a look and forgotten"
"""The reason the ``debug-left-on`` switch carries (heal ends the switches with it)."""


class _Host(Protocol):
    def database(self) -> Database: ...


def inject_debug_left_on(host: _Host, _target: str | None) -> str:
    """A debug switch for the lab API (service ``api``) started 6 h ago, expiring in 2 days:
    the API logs every request at debug level with its id until it is switched off."""
    with host.database() as db:
        db.execute(
            "INSERT INTO opslib.debug_switches (services, reason, actor, started_at, expires_at)"
            " VALUES ('{api}', %s, 'opslib lab', now() - interval '6 hours',"
            " now() + interval '2 days')",
            (DEBUG_REASON,),
        )
    return (
        "debug-left-on: debug logging and request tracking on for the API since 6 h ago,"
        " until 2 days from now"
    )


def heal_debug_left_on(host: _Host, _record: object) -> str:
    """End the switches the fault made (``opslib security debug off`` heals it too)."""
    with host.database() as db:
        ended = db.execute(
            "UPDATE opslib.debug_switches SET ended_at = now(), ended_by = 'opslib lab heal'"
            " WHERE ended_at IS NULL AND reason = %s",
            (DEBUG_REASON,),
        )
    return f"debug-left-on: {ended} debug switch(es) off"
