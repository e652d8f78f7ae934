"""The public surface of opslib.adapters."""

from __future__ import annotations

import opslib.adapters


def test_all_is_sorted_and_complete() -> None:
    names = opslib.adapters.__all__
    assert names == sorted(names)
    assert {
        "ContainerInfo",
        "ContainerUsage",
        "Database",
        "LogLine",
        "MetricSample",
        "MetricsEndpoint",
        "MetricsSnapshot",
        "Platform",
        "Prometheus",
        "Query",
        "RangeSeries",
        "Row",
        "RowSource",
        "Sample",
        "Target",
        "scrape_all",
    } == set(names)
    assert all(hasattr(opslib.adapters, name) for name in names)
