"""The alert a watch sends when a run differs from the one before."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo

from opslib.errors import InputError
from opslib.notify import AlertedCheck, Notice, format_time
from opslib.watch._diff import Change

__all__ = ["change_notice"]

_WORDS = {
    "red": "turned red",
    "green": "turned green",
    "changed": "changed",
    "new": "new",
    "vanished": "vanished",
    "run": "run",
}


def change_notice(
    changes: Sequence[Change],
    *,
    suite: str,
    platform: str,
    finished: datetime,
    contact: str | None = None,
    zone: tzinfo = UTC,
) -> Notice:
    """An alert-kind notice listing ``changes`` (each as an item: severity now and before),
    for the channels that carry alerts."""
    if not changes:
        raise InputError("watch: no change to report")
    counts: dict[str, int] = {}
    for change in changes:
        counts[_WORDS[change.kind]] = counts.get(_WORDS[change.kind], 0) + 1
    counted = ", ".join(f"{n} {word}" for word, n in counts.items())
    when = format_time(finished, zone)
    fields = [("Platform", platform), ("Suite", suite), ("Changes", counted), ("Run ended", when)]
    if contact:
        fields.append(("Contact", contact))
    items = tuple(
        AlertedCheck(
            sop=c.sop,
            check=c.nodeid or "the run",
            severity=f"{c.after or 'GONE'}" + (f" (was {c.before})" if c.before else ""),
            message=c.message,
        )
        for c in changes
    )
    return Notice(
        kind="alert",
        subject=f"[opslib] watch {suite}: {counted} on {platform}",
        text=f"The run of {suite} that ended {when} differs from the one before: {counted}.",
        fields=tuple(fields),
        items=items,
    )
