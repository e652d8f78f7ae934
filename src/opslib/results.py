"""Typed check results and the one verdict mechanism.

A domain call measures; :class:`Threshold` turns a measured value into a :class:`Severity`;
a :class:`CheckResult` gathers measurements and its severity is the worst of them. Checks and
the command line both read verdicts from here, never compute their own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Literal

__all__ = [
    "Chart",
    "CheckResult",
    "Measurement",
    "Series",
    "Severity",
    "Table",
    "Threshold",
    "worst",
]


class Severity(IntEnum):
    """Nagios-style severities; the integer is the Nagios exit code."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3

    @property
    def rank(self) -> int:
        """Order used to pick the worst: OK < WARNING < UNKNOWN < CRITICAL."""
        return _RANK[self]


_RANK = {Severity.OK: 0, Severity.WARNING: 1, Severity.UNKNOWN: 2, Severity.CRITICAL: 3}


def worst(severities: Iterable[Severity]) -> Severity:
    """The most severe of ``severities`` (OK for none)."""
    return max(severities, key=lambda s: s.rank, default=Severity.OK)


@dataclass(frozen=True)
class Threshold:
    """Warn and critical limits; ``bad`` says whether high or low values are the problem."""

    warn: float | None = None
    crit: float | None = None
    bad: Literal["above", "below"] = "above"
    unit: str = ""

    def evaluate(self, value: float | None) -> Severity:
        """Severity of ``value``; ``None`` or NaN (nothing measured) is UNKNOWN."""
        if value is None or math.isnan(value):
            return Severity.UNKNOWN
        if self.crit is not None and self._breaches(value, self.crit):
            return Severity.CRITICAL
        if self.warn is not None and self._breaches(value, self.warn):
            return Severity.WARNING
        return Severity.OK

    def _breaches(self, value: float, limit: float) -> bool:
        return value > limit if self.bad == "above" else value < limit

    def describe(self) -> str:
        """Human form, e.g. ``warn > 80 %, crit > 95 %``."""
        op = ">" if self.bad == "above" else "<"
        unit = f" {self.unit}" if self.unit else ""
        parts = []
        if self.warn is not None:
            parts.append(f"warn {op} {_fmt(self.warn)}{unit}")
        if self.crit is not None:
            parts.append(f"crit {op} {_fmt(self.crit)}{unit}")
        return ", ".join(parts) or "no limit"


def _fmt(value: float) -> str:
    if not math.isfinite(value):  # NaN (nothing to measure against) or inf (never drains)
        return str(value)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Measurement:
    """One measured figure, what it was measured on, and the limit it is held to."""

    name: str
    value: float | None
    threshold: Threshold | None = None
    subject: str = ""
    note: str = ""

    @property
    def severity(self) -> Severity:
        if self.threshold is None:
            return Severity.UNKNOWN if self.value is None else Severity.OK
        return self.threshold.evaluate(self.value)

    @property
    def unit(self) -> str:
        return self.threshold.unit if self.threshold else ""

    def describe(self) -> str:
        """E.g. ``cpu_percent[scraper-1] = 93.1 % (warn > 80 %, crit > 95 %)``."""
        subject = f"[{self.subject}]" if self.subject else ""
        shown = "not measured" if self.value is None else _fmt(self.value)
        unit = f" {self.unit}" if self.unit and self.value is not None else ""
        limit = f" ({self.threshold.describe()})" if self.threshold else ""
        note = f": {self.note}" if self.note else ""
        return f"{self.name}{subject} = {shown}{unit}{limit}{note}"


@dataclass(frozen=True)
class Table:
    """A small table for the report."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    title: str = ""


@dataclass(frozen=True)
class Series:
    """One line of a chart: ``points`` are (label, value) pairs in order."""

    name: str
    points: tuple[tuple[str, float | None], ...]


@dataclass(frozen=True)
class Chart:
    """A chart for the report, optionally with a threshold line: ``line`` for values over time,
    ``bar`` for values per category (grouped, one bar per series)."""

    title: str
    series: tuple[Series, ...]
    unit: str = ""
    limit: float | None = None
    kind: Literal["line", "bar"] = "line"


@dataclass(frozen=True)
class CheckResult:
    """What one SOP check found: its measurements, and what to do when it is red."""

    sop: str
    title: str
    measurements: tuple[Measurement, ...] = ()
    remediation: str = ""
    error: str = ""
    tables: tuple[Table, ...] = ()
    charts: tuple[Chart, ...] = field(default=())

    @property
    def severity(self) -> Severity:
        if self.error:
            return Severity.UNKNOWN
        if not self.measurements:
            return Severity.UNKNOWN
        return worst(m.severity for m in self.measurements)

    @property
    def problems(self) -> tuple[Measurement, ...]:
        """Measurements that are not OK, worst first."""
        bad = [m for m in self.measurements if m.severity is not Severity.OK]
        return tuple(sorted(bad, key=lambda m: -m.severity.rank))

    def message(self) -> str:
        """One paragraph: severity, what was measured against which limit, what to do next."""
        sev = self.severity.name
        if self.error:
            return f"{sev}: {self.title}: {self.error}"
        if not self.measurements:
            return f"{sev}: {self.title}: nothing was measured"
        shown: Sequence[Measurement] = self.problems or self.measurements[:3]
        lines = [f"{sev}: {self.title}"]
        lines += [f"  {m.severity.name}: {m.describe()}" for m in shown[:8]]
        if len(shown) > 8:
            lines.append(f"  ... and {len(shown) - 8} more")
        if self.problems and self.remediation:
            lines.append(f"  next: {self.remediation}")
        return "\n".join(lines)

    @classmethod
    def unknown(cls, sop: str, title: str, reason: str) -> CheckResult:
        """A result for a check that could not measure."""
        return cls(sop=sop, title=title, error=reason)
