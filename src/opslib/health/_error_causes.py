"""emergency.high_error_rate, part 1: which domains err, how much, and most likely why.

The same Prometheus series as the daily error-rate check, split by domain and by the errors
counter's labels that say why (``metric_names.reason_label``, else any of
:data:`REASON_LABELS`): the reason that dominates a domain's errors names the likely cause, and
with it the runbook's action as a command.
"""

from __future__ import annotations

from collections import defaultdict

from opslib.config import Settings
from opslib.health._causes import Cause, action_for, classify_error
from opslib.health._error_rate import MetricQuery
from opslib.results import CheckResult, Measurement, Severity, Table

__all__ = ["REASON_LABELS", "error_causes"]

SOP = "emergency.high_error_rate"
REASON_LABELS = ("reason", "kind", "outcome", "status", "code", "error", "type", "cause")
"""Labels of the errors counter that say why, looked for when ``metric_names.reason_label``
is not set (their values are read together: ``kind="http_error" code="429"``)."""


def error_causes(prometheus: MetricQuery, settings: Settings) -> CheckResult:
    """Each domain's error share over ``error_window`` (``health.error_ratio``; errors/s by
    ``health.error_rate`` when there is no requests counter), with its likely cause and action.
    UNKNOWN when Prometheus has no errors series."""
    names = settings.metric_names
    window = settings.error_window
    title = f"error rate by domain over {window}, with the likely cause"
    labels = (names.reason_label,) if names.reason_label else REASON_LABELS
    by = ", ".join((names.domain_label, *labels))
    errors: dict[str, dict[str, float]] = defaultdict(dict)
    error_series = prometheus.query(f"sum by ({by}) (rate({names.errors}[{window}]))")
    for sample in error_series:
        domain = sample.labels.get(names.domain_label)
        if domain is not None and sample.value == sample.value and sample.value > 0:
            why = " ".join(sample.labels[r] for r in labels if sample.labels.get(r))
            errors[domain][why] = errors[domain].get(why, 0.0) + sample.value
    requests = {
        s.labels[names.domain_label]: s.value
        for s in prometheus.query(
            f"sum by ({names.domain_label}) (rate({names.requests}[{window}]))"
        )
        if names.domain_label in s.labels and s.value == s.value
    }
    if not error_series and not requests:
        return CheckResult.unknown(
            SOP, title, f"Prometheus has no {names.errors} series (metric_names.errors)"
        )
    measurements: list[Measurement] = []
    rows: list[tuple[str, ...]] = []
    actions: list[str] = []
    for domain in sorted(errors.keys() | requests.keys()):
        reasons = errors.get(domain, {})
        total = sum(reasons.values())
        sent = requests.get(domain)
        measurement = _measure(domain, total, sent, settings)
        cause, mix = _cause(reasons, total)
        if total > 0 and measurement.severity is not Severity.OK:
            action = action_for(cause, domain, sent)
            actions.append(f"{domain}: {action}")
            note = f"likely cause: {cause.value} ({mix}); next: {action}"
            measurement = Measurement(
                measurement.name, measurement.value, measurement.threshold, domain, note
            )
        measurements.append(measurement)
        share = f"{total / sent:.1%}" if sent else "-"
        rows.append((domain, _rate(sent), _rate(total), share, cause.value if total else "-", mix))
    if not measurements:
        measurements.append(
            Measurement(
                "error_rate", 0.0, settings.threshold("health.error_rate"), note="no errors"
            )
        )
    return CheckResult(
        SOP,
        title,
        tuple(measurements),
        remediation="; ".join(actions),
        tables=(
            Table(
                ("domain", "requests/s", "errors/s", "error share", "likely cause", "reasons"),
                tuple(rows),
                "by domain",
            ),
        ),
    )


def _measure(domain: str, errors: float, sent: float | None, settings: Settings) -> Measurement:
    if sent:
        threshold = settings.threshold("health.error_ratio", domain)
        return Measurement("error_ratio", round(errors / sent, 4), threshold, domain)
    threshold = settings.threshold("health.error_rate", domain)
    return Measurement("error_rate", round(errors, 4), threshold, domain)


def _cause(reasons: dict[str, float], total: float) -> tuple[Cause, str]:
    """The cause of the reason that dominates, and the mix of reasons as shares."""
    if total <= 0:
        return Cause.UNKNOWN, ""
    ranked = sorted(reasons.items(), key=lambda item: -item[1])
    mix = ", ".join(f"{why or 'no reason label'} {value / total:.0%}" for why, value in ranked[:3])
    return classify_error(ranked[0][0]), mix


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
