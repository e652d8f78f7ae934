"""daily.health: service status, restarts, resource usage and error rates."""

from opslib.health._error_rate import MetricQuery, error_rate
from opslib.health._resources import UsageSource, resource_usage
from opslib.health._services import (
    ContainerSource,
    finished_by_design,
    restart_trend,
    service_status,
)

__all__ = [
    "ContainerSource",
    "MetricQuery",
    "UsageSource",
    "error_rate",
    "finished_by_design",
    "resource_usage",
    "restart_trend",
    "service_status",
]
