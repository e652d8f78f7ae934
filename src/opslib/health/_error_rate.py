"""daily.health, part 3: the scraper error rate from Prometheus."""

from __future__ import annotations

from typing import Protocol

from opslib.adapters import Sample
from opslib.config import Settings
from opslib.results import CheckResult, Measurement, Table

__all__ = ["MetricQuery", "error_rate"]

SOP = "daily.health"


class MetricQuery(Protocol):
    """What this check needs of :class:`opslib.adapters.Prometheus`."""

    def query(self, promql: str) -> list[Sample]: ...

    def scalar(self, promql: str) -> float | None: ...


def error_rate(prometheus: MetricQuery, settings: Settings) -> CheckResult:
    """``rate(scraper_errors_total[1h])`` overall and as a share of requests, also per domain."""
    window = settings.error_window
    title = f"scraper error rate over {window}"
    requests = prometheus.scalar(f"sum(rate(scraper_requests_total[{window}]))")
    if requests is None:
        return CheckResult.unknown(
            SOP,
            title,
            "Prometheus has no scraper_requests_total series: is it scraping the scrapers?",
        )
    # A scraper that never failed may not export scraper_errors_total at all: that is zero.
    errors = prometheus.scalar(f"sum(rate(scraper_errors_total[{window}]))") or 0.0
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
    per_domain_req = _by_domain(
        prometheus, f"sum by (domain) (rate(scraper_requests_total[{window}]))"
    )
    per_domain_err = _by_domain(
        prometheus, f"sum by (domain) (rate(scraper_errors_total[{window}]))"
    )
    rows = []
    for domain, req in sorted(per_domain_req.items()):
        err = per_domain_err.get(domain, 0.0)
        if req <= 0:
            continue
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
        remediation=(
            "High Error Rate response: group errors with "
            "`docker-compose logs scraper | grep ERROR`, check proxy health "
            "(opslib proxies health) and target sites; rotate proxies or lower rate limits"
        ),
        tables=(
            Table(("domain", "requests/s", "errors/s", "error share"), tuple(rows), "by domain"),
        ),
    )


def _by_domain(prometheus: MetricQuery, promql: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for sample in prometheus.query(promql):
        domain = sample.labels.get("domain")
        if domain is not None and sample.value == sample.value:  # skip NaN
            out[domain] = sample.value
    return out
