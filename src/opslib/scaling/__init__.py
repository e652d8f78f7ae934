"""Scaling a service and its resource limits (runbook System Overload: ``scale_service``,
``set_resource_limits``), planned then applied, on Docker Compose or Docker Swarm."""

from opslib.scaling._plan import (
    LimitPlan,
    ScalePlan,
    apply_limits,
    apply_scale,
    parse_memory,
    plan_limits,
    plan_scale,
)

__all__ = [
    "LimitPlan",
    "ScalePlan",
    "apply_limits",
    "apply_scale",
    "parse_memory",
    "plan_limits",
    "plan_scale",
]
