"""daily.health, part 3: the scraper error rate from Prometheus.

The runbook's figure is ``rate(scraper_errors_total[1h])``, errors per second; the share of
requests is judged too when the platform also counts requests. Metric and label names come
from ``settings.metric_names`` (validated, so they are safe to place in PromQL).
"""

from __future__ import annotations

from typing import Protocol

from opslib.adapters import Sample
from opslib.config import Settings
from opslib.results import CheckResult, Measurement, Table

__all__ = ["MetricQuery", "error_rate"]

SOP = "daily.health"
_REMEDY = (
    "High Error Rate response: run `pytest checks/emergency/high_error_rate` (error patterns, "
    "proxy health, site verdicts, each naming its cause and the command that acts on it)"
)


class MetricQuery(Protocol):
    """What this check needs of :class:`opslib.adapters.Prometheus`."""

    def query(self, promql: str) -> list[Sample]: ...

    def scalar(self, promql: str) -> float | None: ...


def error_rate(prometheus: MetricQuery, settings: Settings) -> CheckResult:
    """Errors per second (``rate(<errors>[window])``) overall and per domain, judged by
    ``health.error_rate``; also as a share of requests (``health.error_ratio``) when the
    requests counter exists. UNKNOWN only when Prometheus has neither series."""
    names = settings.metric_names
    window = settings.error_window
    title = f"scraper error rate over {window}"
    errors_rate = f"rate({names.errors}[{window}])"
    requests_rate = f"rate({names.requests}[{window}])"
    errors = prometheus.scalar(f"sum({errors_rate})")
    requests = prometheus.scalar(f"sum({requests_rate})")
    if errors is None and requests is None:
        return CheckResult.unknown(
            SOP,
            title,
            f"Prometheus has no {names.errors} series: scrape the scrapers' /metrics, "
            "or set metric_names.errors",
        )
    # A scraper that never failed may not export the errors counter at all: that is zero.
    errors = errors or 0.0
    by = f"sum by ({names.domain_label})"
    per_err = _by_domain(prometheus, f"{by} ({errors_rate})", names.domain_label)
    if requests is None:
        return _errors_only(errors, per_err, title, settings)
    ratio = errors / requests if requests > 0 else None
    measurements = [
        Measurement("error_rate", round(errors, 4), settings.threshold("health.error_rate")),
        Measurement(
            "error_ratio",
            None if ratio is None else round(ratio, 4),
            settings.threshold("health.error_ratio"),
            note="" if ratio is not None else "no requests in the window",
        ),
    ]
    per_req = _by_domain(prometheus, f"{by} ({requests_rate})", names.domain_label)
    rows = []
    for domain in sorted(per_req.keys() | per_err.keys()):
        err = per_err.get(domain, 0.0)
        req = per_req.get(domain)
        if req is None:  # errors without a requests series for the domain: judge errors/s
            rows.append((domain, "-", f"{err:.3f}", "-"))
            measurements.append(_domain_rate(domain, err, settings))
        elif req > 0:
            share = err / req
            rows.append((domain, f"{req:.3f}", f"{err:.3f}", f"{share:.1%}"))
            measurements.append(
                Measurement(
                    "error_ratio",
                    round(share, 4),
                    settings.threshold("health.error_ratio", domain),
                    domain,
                )
            )
    return CheckResult(
        sop=SOP,
        title=title,
        measurements=tuple(measurements),
        remediation=_REMEDY,
        tables=(
            Table(("domain", "requests/s", "errors/s", "error share"), tuple(rows), "by domain"),
        ),
    )


def _errors_only(
    errors: float, per_err: dict[str, float], title: str, settings: Settings
) -> CheckResult:
    """The runbook's figure alone: errors/s overall and per domain, no share of requests."""
    requests = settings.metric_names.requests
    measurements = [
        Measurement(
            "error_rate",
            round(errors, 4),
            settings.threshold("health.error_rate"),
            note=(
                f"error share not judged: Prometheus has no {requests} series "
                "(export a requests counter, or set metric_names.requests)"
            ),
        )
    ]
    rows = []
    for domain, err in sorted(per_err.items()):
        rows.append((domain, f"{err:.3f}"))
        measurements.append(_domain_rate(domain, err, settings))
    return CheckResult(
        sop=SOP,
        title=title,
        measurements=tuple(measurements),
        remediation=_REMEDY,
        tables=(Table(("domain", "errors/s"), tuple(rows), "by domain"),),
    )


def _domain_rate(domain: str, errors: float, settings: Settings) -> Measurement:
    return Measurement(
        "error_rate", round(errors, 4), settings.threshold("health.error_rate", domain), domain
    )


def _by_domain(prometheus: MetricQuery, promql: str, label: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for sample in prometheus.query(promql):
        domain = sample.labels.get(label)
        if domain is not None and sample.value == sample.value:  # skip NaN
            out[domain] = sample.value
    return out
