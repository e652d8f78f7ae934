"""What one run of a suite judged, read from its JSON summary, and what changed between two."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from opslib.errors import DataError
from opslib.results import Severity, worst

__all__ = ["Change", "ChangeKind", "CheckState", "Snapshot", "diff"]

ChangeKind = Literal["red", "green", "changed", "new", "vanished", "run"]
"""``red``: worse; ``green``: better; ``changed``: to or from skipped; ``new`` / ``vanished``:
a check that appeared or left the suite; ``run``: the run could not judge, or judges again."""


@dataclass(frozen=True)
class CheckState:
    """One check as a run judged it (``severity`` None: skipped)."""

    nodeid: str
    sop: str
    title: str
    severity: Severity | None
    message: str

    @property
    def shown(self) -> str:
        """``OK``, ``CRITICAL``, or ``SKIPPED``."""
        return self.severity.name if self.severity is not None else "SKIPPED"

    @property
    def headline(self) -> str:
        """The first line of the check's message."""
        return next(iter(self.message.strip().splitlines()), "")


@dataclass(frozen=True)
class Snapshot:
    """One run of the suite: its checks by node id, or why it judged nothing (``error``).

    A run that judged nothing keeps the checks as last judged (:meth:`failed`), so the next
    comparison is with what was last known, not with an empty suite.
    """

    checks: Mapping[str, CheckState] = field(default_factory=dict)
    error: str = ""
    platform: str = ""
    exit_status: int | None = None

    @property
    def severity(self) -> Severity:
        """The worst severity judged; UNKNOWN when the run could not judge."""
        if self.error:
            return Severity.UNKNOWN
        return worst(c.severity for c in self.checks.values() if c.severity is not None)

    def counts(self) -> dict[str, int]:
        """Checks per severity (and ``SKIPPED``), every severity present."""
        found = {s.name: 0 for s in (Severity.OK, Severity.WARNING, Severity.CRITICAL,
                                     Severity.UNKNOWN)}  # fmt: skip
        for check in self.checks.values():
            found[check.shown] = found.get(check.shown, 0) + 1
        return found

    def describe(self) -> str:
        """``7 checks: 5 OK, 1 WARNING, 1 CRITICAL, 0 UNKNOWN`` or why nothing was judged."""
        if self.error:
            return f"judged nothing: {self.error}"
        parts = ", ".join(f"{n} {name}" for name, n in self.counts().items())
        return f"{len(self.checks)} check(s): {parts}"

    @classmethod
    def failed(
        cls, error: str, previous: Snapshot | None = None, exit_status: int | None = None
    ) -> Snapshot:
        """A run that judged nothing, keeping ``previous``'s checks as last known."""
        kept = previous.checks if previous is not None else {}
        platform = previous.platform if previous is not None else ""
        return cls(checks=kept, error=error, platform=platform, exit_status=exit_status)

    @classmethod
    def from_summary(
        cls, document: Mapping[str, Any], previous: Snapshot | None = None
    ) -> Snapshot:
        """Read the plugin's JSON summary (``--ops-summary``, schema 1).

        A configuration error, or a run that judged no check (collection error, bad pytest
        arguments, everything skipped), is a :meth:`failed` snapshot. Raises
        :class:`~opslib.errors.DataError` when the document is not such a summary.
        """
        try:
            status = int(document["exit_status"])
            rows = list(document["checks"])
            checks = {str(row["nodeid"]): _check(row) for row in rows}
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"not an opslib summary: {type(exc).__name__}: {exc}") from exc
        if document.get("config_error"):
            return cls.failed(f"configuration: {document['config_error']}", previous, status)
        if not any(c.severity is not None for c in checks.values()):
            why = "every check skipped" if checks else "no check ran"
            return cls.failed(f"{why} (pytest exit {status})", previous, status)
        return cls(checks=checks, platform=str(document.get("platform") or ""),
                   exit_status=status)  # fmt: skip


def _check(row: Mapping[str, Any]) -> CheckState:
    severity = row.get("severity")
    return CheckState(
        nodeid=str(row["nodeid"]),
        sop=str(row.get("sop") or ""),
        title=str(row.get("title") or ""),
        severity=Severity[severity] if severity is not None else None,
        message=str(row.get("message") or ""),
    )


@dataclass(frozen=True)
class Change:
    """One difference between two runs: a check that changed, appeared or vanished, or the run
    itself (``nodeid`` empty) failing to judge or judging again."""

    kind: ChangeKind
    nodeid: str = ""
    sop: str = ""
    before: str = ""
    after: str = ""
    message: str = ""

    @property
    def severity(self) -> str:
        """The severity the check has now (``UNKNOWN`` for a run that judged nothing)."""
        return self.after

    def line(self) -> str:
        """One line: ``red: test_x.py::test_cpu [daily.health] OK -> CRITICAL: CPU 97 %``."""
        if self.kind == "run":
            return f"run: {self.message}"
        sop = f" [{self.sop}]" if self.sop else ""
        if self.kind == "vanished":
            return f"vanished: {self.nodeid}{sop} (was {self.before})"
        if self.kind == "new":
            text = f": {self.message}" if self.message else ""
            return f"new: {self.nodeid}{sop} {self.after}{text}"
        return f"{self.kind}: {self.nodeid}{sop} {self.before} -> {self.after}: {self.message}"


def _kind(before: CheckState, after: CheckState) -> ChangeKind:
    if before.severity is None or after.severity is None:
        if after.severity is not None and after.severity is not Severity.OK:
            return "red"
        return "changed"
    return "red" if after.severity.rank > before.severity.rank else "green"


def diff(previous: Snapshot, current: Snapshot) -> list[Change]:
    """What changed from ``previous`` to ``current``: severities (not messages: a figure that
    moves within the same severity is no news), checks new or vanished, and the run failing to
    judge or judging again. In the order of ``current``'s checks, vanished ones last."""
    changes: list[Change] = []
    if current.error and current.error != previous.error:
        changes.append(Change("run", before="", after="UNKNOWN", message=current.error))
    elif previous.error and not current.error:
        changes.append(Change("run", after=current.severity.name,
                              message=f"judging again: {current.describe()}"))  # fmt: skip
    for nodeid, now in current.checks.items():
        was = previous.checks.get(nodeid)
        if was is None:
            changes.append(Change("new", nodeid, now.sop, "", now.shown, now.headline))
        elif was.severity is not now.severity:
            changes.append(
                Change(_kind(was, now), nodeid, now.sop, was.shown, now.shown, now.headline)
            )
    changes += [
        Change("vanished", nodeid, was.sop, was.shown, "", "no longer in the suite")
        for nodeid, was in previous.checks.items()
        if nodeid not in current.checks
    ]
    return changes
