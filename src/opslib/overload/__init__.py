"""emergency.overload (runbook System Overload Response): the daily resource and queue checks
judged for the emergency, each naming the commands that relieve the load."""

from opslib.overload._checks import (
    CONTAINER_ACTIONS,
    QUEUE_ACTIONS,
    container_load,
    drain_time,
    queue_load,
)

__all__ = [
    "CONTAINER_ACTIONS",
    "QUEUE_ACTIONS",
    "container_load",
    "drain_time",
    "queue_load",
]
