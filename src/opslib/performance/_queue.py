"""daily.performance: queue size, its growth, processing rate and time to drain."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

from opslib.adapters import MetricsSnapshot
from opslib.config import Settings
from opslib.errors import OpsError
from opslib.redact import redact
from opslib.results import CheckResult, Measurement, Table

__all__ = ["RateQuery", "processing_rate", "queue_size"]

SOP = "daily.performance"
_REMEDY = (
    "System Overload response: scale scrapers (`docker-compose up -d --scale scraper=N`), "
    "pause low-priority scraping, increase intervals"
)


class RateQuery(Protocol):
    """What these checks need of :class:`opslib.adapters.Prometheus`."""

    def scalar(self, promql: str) -> float | None: ...


def _queue_now(
    snapshots: Sequence[MetricsSnapshot | OpsError],
) -> tuple[float | None, Table, list[str]]:
    """The shared queue's size: the largest value any scraper reports, and the failures."""
    rows: list[tuple[str, ...]] = []
    values: list[float] = []
    failures: list[str] = []
    for snap in snapshots:
        if isinstance(snap, OpsError):
            failures.append(str(snap))
            rows.append(("-", "unreachable", redact(str(snap))))
            continue
        value = snap.value("queue_size")
        if value is not None and math.isfinite(value):
            values.append(value)
        rows.append((redact(snap.url), "-" if value is None else f"{value:.0f}", ""))
    table = Table(("endpoint", "queue_size", "error"), tuple(rows), "scraper /metrics")
    return (max(values) if values else None), table, failures


def queue_size(
    snapshots: Sequence[MetricsSnapshot | OpsError], prometheus: RateQuery, settings: Settings
) -> CheckResult:
    """Queue size under threshold now (scraper /metrics) and not growing over the last hour."""
    title = "queue size under threshold and not growing"
    size, table, failures = _queue_now(snapshots)
    if size is None:
        reason = failures[0] if failures else "no scraper /metrics endpoint exports queue_size"
        return CheckResult.unknown(SOP, title, reason)
    growth = prometheus.scalar("max(deriv(queue_size[1h])) * 3600")
    measurements = [
        Measurement("queue_size", size, settings.threshold("performance.queue_size")),
        Measurement(
            "queue_growth",
            None if growth is None else round(growth, 1),
            settings.threshold("performance.queue_growth"),
            note="" if growth is not None else "no queue_size history in Prometheus",
        ),
    ]
    for failure in failures:
        measurements.append(Measurement("endpoint_unreachable", None, None, note=failure))
    return CheckResult(SOP, title, tuple(measurements), _REMEDY, tables=(table,))


def processing_rate(
    snapshots: Sequence[MetricsSnapshot | OpsError], prometheus: RateQuery, settings: Settings
) -> CheckResult:
    """Items processed per second above its floor, and the estimated time to drain the queue."""
    window = settings.rate_window
    title = f"processing rate above its floor (over {window}) and queue drains in time"
    rate = prometheus.scalar(f"sum(rate(scraper_processed_total[{window}]))")
    if rate is None:
        return CheckResult.unknown(
            SOP,
            title,
            "Prometheus has no scraper_processed_total series: is it scraping the scrapers?",
        )
    size, table, _ = _queue_now(snapshots)
    if size is None:
        drain: float | None = None
    elif size <= 0:
        drain = 0.0
    else:
        drain = size / rate if rate > 0 else math.inf
    return CheckResult(
        SOP,
        title,
        (
            Measurement(
                "processing_rate", round(rate, 3), settings.threshold("performance.processing_rate")
            ),
            Measurement(
                "drain_time",
                None if drain is None else round(drain, 1),
                settings.threshold("performance.drain_time"),
                note="queue size unknown" if drain is None else "",
            ),
        ),
        _REMEDY,
        tables=(table,),
    )
