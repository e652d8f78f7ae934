"""Thin adapters over PostgreSQL, Prometheus, metrics endpoints, HTTP downloads and the Docker
engine.

Each translates its library's exceptions into :mod:`opslib.errors` and is bounded by timeouts.
"""

from opslib.adapters._http import download
from opslib.adapters._metrics import MetricSample, MetricsEndpoint, MetricsSnapshot, scrape_all
from opslib.adapters._platform import ContainerInfo, ContainerUsage, LogLine, Platform
from opslib.adapters._postgres import Database, Query, Row, RowSource
from opslib.adapters._prometheus import Prometheus, RangeSeries, Sample, Target
from opslib.adapters._scaling import (
    ComposeScaling,
    ResourceLimits,
    ScaleFailed,
    ScaleOutcome,
    ScalingBackend,
    SwarmScaling,
)

__all__ = [
    "ComposeScaling",
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
    "ResourceLimits",
    "Row",
    "RowSource",
    "Sample",
    "ScaleFailed",
    "ScaleOutcome",
    "ScalingBackend",
    "SwarmScaling",
    "Target",
    "download",
    "scrape_all",
]
