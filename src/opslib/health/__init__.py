"""daily.health: service status, restarts, resource usage and error rates; the error causes of
the high-error-rate emergency."""

from opslib.health._causes import Cause, action_for, classify_error
from opslib.health._error_causes import error_causes
from opslib.health._error_rate import MetricQuery, error_rate
from opslib.health._resources import UsageSource, resource_usage
from opslib.health._services import (
    ContainerSource,
    finished_by_design,
    restart_trend,
    service_status,
)

__all__ = [
    "Cause",
    "ContainerSource",
    "MetricQuery",
    "UsageSource",
    "action_for",
    "classify_error",
    "error_causes",
    "error_rate",
    "finished_by_design",
    "resource_usage",
    "restart_trend",
    "service_status",
]
