"""emergency.overload (runbook System Overload Response): the daily resource and queue checks
judged for the emergency, each naming the commands that relieve the load."""

from opslib.overload._checks import (
    CACHE_ACTION,
    CONTAINER_ACTIONS,
    QUEUE_ACTIONS,
    VectorQuery,
    cache_hit_rate,
    container_load,
    drain_time,
    queue_load,
)

__all__ = [
    "CACHE_ACTION",
    "CONTAINER_ACTIONS",
    "QUEUE_ACTIONS",
    "VectorQuery",
    "cache_hit_rate",
    "container_load",
    "drain_time",
    "queue_load",
]
