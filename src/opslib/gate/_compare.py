"""Before and after: each figure judged on its own limit and on how much worse it got.

A figure fails the gate when the deploy made it worse: beyond its tolerance (a threshold on the
change, e.g. ``gate.error_ratio_rise``), or over its absolute limit when it was not over it
before. A figure that was already CRITICAL before the deploy and is not worse beyond the
tolerance is a WARNING ("already red before the deploy"), not a failure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from opslib.gate._baseline import Baseline, ErrorFigures, QualityFigures
from opslib.results import Measurement, Severity, Threshold, worst

__all__ = ["Comparison", "ThresholdLookup", "compare"]

ThresholdLookup = Callable[[str, str | None], Threshold]
"""The thresholds by name and domain: :meth:`opslib.config.Settings.threshold`."""


def _shown(value: float | None, scale: float) -> str:
    if value is None:
        return "-"
    return f"{value * 100:.1f}%" if scale == 100 else f"{value:g}"


@dataclass(frozen=True)
class Comparison:
    """One figure before the deploy and now, its absolute ``limit`` and its ``tolerance`` (a
    threshold on the change; None when the change is not judged). ``scale`` turns the
    figure's unit into the tolerance's (100: a share in percentage points)."""

    figure: str
    subject: str
    before: float | None
    now: float | None
    limit: Threshold
    tolerance: Threshold | None = None
    scale: float = 1.0

    @property
    def change(self) -> float | None:
        """How much worse the figure got, in the tolerance's unit (negative: better)."""
        if self.before is None or self.now is None:
            return None
        delta = self.now - self.before if self.limit.bad == "above" else self.before - self.now
        return round(delta * self.scale, 4)

    @property
    def already_red(self) -> bool:
        """CRITICAL on its own limit before the deploy."""
        return self.before is not None and self.limit.evaluate(self.before) is Severity.CRITICAL

    @property
    def measurements(self) -> tuple[Measurement, ...]:
        """The figure now on its limit (a CRITICAL limit only a warning when it was already
        red before), and its change on the tolerance."""
        limit, note = self.limit, ""
        if self.before is None:
            note = "not in the baseline"
        elif self.already_red:
            warn = limit.warn if limit.warn is not None else limit.crit
            limit = Threshold(warn=warn, crit=None, bad=limit.bad, unit=limit.unit)
            note = (
                f"already red before the deploy ({_shown(self.before, self.scale)} then,"
                f" {self.limit.describe()})"
            )
        level = Measurement(self.figure, self.now, limit, self.subject, note)
        change = self.change
        if self.tolerance is None or change is None:
            return (level,)
        word = "rise" if self.limit.bad == "above" else "drop"
        before, now = _shown(self.before, self.scale), _shown(self.now, self.scale)
        return (
            level,
            Measurement(
                f"{self.figure}_{word}",
                change,
                self.tolerance,
                self.subject,
                f"{before} before the deploy, {now} now",
            ),
        )

    @property
    def severity(self) -> Severity:
        """The worst of its measurements."""
        return worst(m.severity for m in self.measurements)


def compare(
    baseline: Baseline | None, now: Baseline, thresholds: ThresholdLookup
) -> tuple[Comparison, ...]:
    """Every error and quality figure measured ``now``, against ``baseline`` (None: no
    baseline, each figure on its absolute limit alone). ``thresholds``: ``settings.threshold``.
    A domain that has no figure now (no requests, no rows) is not compared here: the data flow
    check judges it."""
    found: list[Comparison] = []
    if now.errors is not None:
        before = baseline.errors if baseline is not None else None
        found += _errors(before, now.errors, thresholds)
    if now.quality is not None:
        before_q = baseline.quality if baseline is not None else None
        found += _quality(before_q, now.quality, thresholds)
    return tuple(found)


def _errors(
    before: ErrorFigures | None, now: ErrorFigures, th: ThresholdLookup
) -> list[Comparison]:
    b = before or ErrorFigures(window=now.window)
    with_ratio = now.ratio is not None
    # With a requests counter the share is judged; errors/s follow traffic, so only its limit.
    rate_rise = None if with_ratio else th("gate.error_rate_rise", None)
    found = [
        Comparison("error_rate", "", b.rate, now.rate, th("health.error_rate", None), rate_rise)
    ]
    if with_ratio:
        found.append(
            Comparison(
                "error_ratio",
                "",
                b.ratio,
                now.ratio,
                th("health.error_ratio", None),
                th("gate.error_ratio_rise", None),
                100,
            )
        )
    for domain, value in sorted(now.domain_ratio.items()):
        found.append(
            Comparison(
                "error_ratio",
                domain,
                b.domain_ratio.get(domain),
                value,
                th("health.error_ratio", domain),
                th("gate.error_ratio_rise", domain),
                100,
            )
        )
    for domain, value in sorted(now.domain_rate.items()):
        found.append(
            Comparison(
                "error_rate",
                domain,
                b.domain_rate.get(domain),
                value,
                th("health.error_rate", domain),
                th("gate.error_rate_rise", domain),
            )
        )
    return found


def _quality(
    before: QualityFigures | None, now: QualityFigures, th: ThresholdLookup
) -> list[Comparison]:
    b = before or QualityFigures(minutes=now.minutes, rows=0)
    found = []
    if now.confidence is not None:
        found.append(
            Comparison(
                "avg_confidence",
                "",
                b.confidence,
                now.confidence,
                th("quality.avg_confidence", None),
                th("gate.confidence_drop", None),
            )
        )
    if now.coverage is not None:
        found.append(
            Comparison(
                "price_coverage",
                "",
                b.coverage,
                now.coverage,
                th("quality.price_coverage", None),
                th("gate.coverage_drop", None),
                100,
            )
        )
    for domain, value in sorted(now.domain_confidence.items()):
        found.append(
            Comparison(
                "confidence",
                domain,
                b.domain_confidence.get(domain),
                value,
                th("quality.domain_confidence", domain),
                th("gate.confidence_drop", domain),
            )
        )
    return found
