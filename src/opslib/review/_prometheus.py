"""The review's Prometheus side: queue, throughput and per-service CPU and memory, this week
against the previous one, each over a 7-day window evaluated at the end of each week.

Prometheus must hold the two weeks: when it has no sample from two weeks ago the figures are
not measured, with one line saying so (never a figure from a shorter history).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from opslib.adapters import Sample
from opslib.config import Settings

__all__ = ["InstantQuery", "WeekOnWeek", "prometheus_history", "prometheus_trends"]


class InstantQuery(Protocol):
    """What the review needs of :class:`opslib.adapters.Prometheus`."""

    def query(self, promql: str, at: datetime | None = None) -> list[Sample]: ...


@dataclass(frozen=True)
class WeekOnWeek:
    """One figure this week and the week before (``subject``: a service, or empty)."""

    name: str
    subject: str
    unit: str
    this_week: float | None
    previous: float | None
    promql: str

    @property
    def change(self) -> float | None:
        """This week's figure relative to the previous one (0.25 is 25 % more)."""
        if self.this_week is None or self.previous is None or self.previous == 0:
            return None
        return self.this_week / self.previous - 1


def prometheus_history(prometheus: InstantQuery, end: datetime) -> str | None:
    """None when Prometheus holds samples from two weeks before ``end``; else the one line
    saying it does not."""
    at = end - timedelta(days=14) + timedelta(hours=1)
    if prometheus.query("count(count_over_time(up[1h]))", at=at):  # sparse history too
        return None
    return (
        f"Prometheus holds no samples from {at:%Y-%m-%d %H:%M} UTC (two weeks ago): the"
        " week-on-week queue, throughput and resource figures need 14 days of history"
        " (its retention, --storage.tsdb.retention.time, must keep them)"
    )


def _by(prometheus: InstantQuery, promql: str, label: str | None, at: datetime) -> dict[str, float]:
    out: dict[str, float] = {}
    for sample in prometheus.query(promql, at=at):
        if math.isfinite(sample.value):
            key = sample.labels.get(label, "") if label else ""
            out[key] = out.get(key, 0.0) + sample.value
    return out


def prometheus_trends(
    prometheus: InstantQuery, settings: Settings, end: datetime
) -> tuple[list[WeekOnWeek], list[str]]:
    """Queue (average of the largest), items processed per day, CPU cores and memory per
    service, and fetch time p50/p95 from the duration histogram, this week and the week
    before; and notes naming what Prometheus lacks."""
    names = settings.metric_names
    label = names.service_label
    queries: tuple[tuple[str, str | None, str, str, str], ...] = (
        ("queue_size", None, "items", f"max(avg_over_time({names.queue}[7d]))", names.queue),
        ("processed_per_day", None, "items/day",
         f"sum(increase({names.processed}[7d])) / 7", names.processed),
        ("cpu_cores", label, "cores",
         f"sum by ({label}) (rate({names.container_cpu}[7d]))", names.container_cpu),
        ("memory_bytes", label, "bytes",
         f"sum by ({label}) (avg_over_time({names.container_memory}[7d]))",
         names.container_memory),
    )  # fmt: skip
    buckets = f"sum by (le) (rate({names.request_duration}_bucket[7d]))"
    queries += tuple(
        (name, None, "ms", f"histogram_quantile({q}, {buckets}) * 1000",
         f"{names.request_duration}_bucket")
        for name, q in (("p50_ms", 0.5), ("p95_ms", 0.95))
    )  # fmt: skip
    figures: list[WeekOnWeek] = []
    notes: list[str] = []
    for name, by, unit, promql, metric in queries:
        now = _by(prometheus, promql, by, end)
        before = _by(prometheus, promql, by, end - timedelta(days=7))
        if not now and not before:
            notes.append(f"{name}: Prometheus has no {metric} series")
            continue
        for subject in sorted(now.keys() | before.keys()):
            figures.append(
                WeekOnWeek(name, subject, unit, now.get(subject), before.get(subject), promql)
            )
    return figures, notes
