"""Re-running a suite every so often for a while, reporting only what changed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from opslib.errors import InputError
from opslib.notify import parse_duration
from opslib.results import Severity
from opslib.watch._diff import Change, Snapshot, diff

__all__ = ["WatchReport", "parse_span", "watch"]


def parse_span(text: str, option: str) -> float:
    """Seconds of ``60s``, ``5m``, ``1h30m``, ``1d`` (a bare number is seconds); more than
    zero. Raises :class:`~opslib.errors.InputError` naming ``option`` otherwise."""
    value = text.strip()
    span = parse_duration(value + "s" if value.isdigit() else value)
    if span is None:
        raise InputError(f"{option} {text!r}: not a duration (like 60s, 5m, 1h30m)")
    seconds = span.total_seconds()
    if seconds <= 0:
        raise InputError(f"{option} {text!r}: must be more than 0 s")
    return seconds


@dataclass
class WatchReport:
    """What a watch saw: the runs, the first and last snapshots, every change."""

    runs: int = 0
    first: Snapshot | None = None
    last: Snapshot | None = None
    changes: list[Change] = field(default_factory=list)

    @property
    def severity(self) -> Severity:
        """The worst severity of the last run (UNKNOWN before any)."""
        return self.last.severity if self.last is not None else Severity.UNKNOWN


def watch(
    run: Callable[[Snapshot | None], Snapshot],
    *,
    every: float,
    duration: float,
    on_first: Callable[[Snapshot], None],
    on_changes: Callable[[list[Change], Snapshot], None],
    report: WatchReport | None = None,
    max_runs: int | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> WatchReport:
    """Call ``run`` (given the previous snapshot) every ``every`` seconds, start to start, for
    ``duration`` seconds; ``on_first`` gets the first snapshot, ``on_changes`` each later
    run's changes (only when there are some).

    No run starts after ``duration`` (or after ``max_runs`` runs); a run in progress then
    finishes. A run longer than
    ``every`` is followed at once by the next. Pass ``report`` to keep what was seen when
    the watch is interrupted (Ctrl-C raises out of ``run`` or ``sleep``).
    """
    seen = report if report is not None else WatchReport()
    start = clock()
    deadline = start + duration
    slot = start
    while True:
        snapshot = run(seen.last)
        seen.runs += 1
        if seen.last is None:
            seen.first = snapshot
            on_first(snapshot)
        else:
            changes = diff(seen.last, snapshot)
            if changes:
                seen.changes += changes
                on_changes(changes, snapshot)
        seen.last = snapshot
        if max_runs is not None and seen.runs >= max_runs:
            return seen
        slot += every
        now = clock()
        if max(slot, now) > deadline:
            return seen
        if slot > now:
            sleep(slot - now)
        else:
            slot = now
