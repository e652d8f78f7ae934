"""Enhanced monitoring (``opslib watch``): re-run a check suite and report only what changed.

:class:`PytestSuite` runs a suite once and reads its JSON summary into a :class:`Snapshot`;
:func:`diff` compares two snapshots (checks that turned red or green, new or vanished checks,
a run that could not judge); :func:`watch` repeats it on a schedule with an injectable clock
and sleep; :func:`change_notice` is the alert for the notify channels.
"""

from opslib.watch._diff import Change, ChangeKind, CheckState, Snapshot, diff
from opslib.watch._loop import WatchReport, parse_span, watch
from opslib.watch._notice import change_notice
from opslib.watch._suite import PytestSuite

__all__ = [
    "Change",
    "ChangeKind",
    "CheckState",
    "PytestSuite",
    "Snapshot",
    "WatchReport",
    "change_notice",
    "diff",
    "parse_span",
    "watch",
]
