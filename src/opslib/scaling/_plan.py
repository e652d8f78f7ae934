"""Plans for ``opslib scale`` and ``opslib limits set``: checked first, so nothing is applied
when the request is refused."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opslib.adapters import ResourceLimits, ScaleOutcome, ScalingBackend
from opslib.errors import InputError

__all__ = [
    "LimitPlan",
    "ScalePlan",
    "apply_limits",
    "apply_scale",
    "parse_memory",
    "plan_limits",
    "plan_scale",
]

_MEMORY = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_MIN_MEMORY = 6 << 20  # the engine refuses less than 6 MiB


@dataclass(frozen=True)
class ScalePlan:
    """Scale ``service`` from ``current`` running replicas to ``wanted``."""

    backend: str
    service: str
    current: int
    wanted: int

    @property
    def changes(self) -> bool:
        return self.current != self.wanted

    def describe(self) -> str:
        if not self.changes:
            return f"{self.service}: {self.current} replicas running already ({self.backend})"
        verb = "start" if self.wanted > self.current else "stop"
        count = abs(self.wanted - self.current)
        return (
            f"scale {self.service} from {self.current} to {self.wanted} replicas "
            f"({verb} {count}, {self.backend})"
        )

    def as_dict(self) -> dict[str, Any]:
        return {"backend": self.backend, "service": self.service,
                "current": self.current, "wanted": self.wanted}  # fmt: skip


@dataclass(frozen=True)
class LimitPlan:
    """Set ``wanted`` limits on ``service``, now at ``current``; ``in_use`` memory per replica."""

    backend: str
    service: str
    current: ResourceLimits
    wanted: ResourceLimits
    in_use: Mapping[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        return (
            f"limits of {self.service}: {self.current.describe()} -> {self.wanted.describe()} "
            f"({len(self.in_use)} running, {self.backend})"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "service": self.service,
            "current": {"cpus": self.current.cpus, "memory_bytes": self.current.memory_bytes},
            "wanted": {"cpus": self.wanted.cpus, "memory_bytes": self.wanted.memory_bytes},
            "memory_in_use": dict(self.in_use),
        }


def plan_scale(
    backend: ScalingBackend, service: str, replicas: int, *, max_replicas: int
) -> ScalePlan:
    """The plan to run ``replicas`` of ``service``; InputError below 0 or above the ceiling."""
    if replicas < 0:
        raise InputError(f"scale {service}: {replicas} replicas: the count cannot be negative")
    if replicas > max_replicas:
        raise InputError(
            f"scale {service}: {replicas} replicas is above the ceiling scale.max_replicas "
            f"= {max_replicas}"
        )
    return ScalePlan(backend.name, service, backend.replicas(service), replicas)


def apply_scale(backend: ScalingBackend, plan: ScalePlan) -> ScaleOutcome:
    """Apply ``plan``: ScaleFailed (what was started and stopped, what was rolled back) when
    it could not be completed."""
    if not plan.changes:
        return ScaleOutcome(plan.backend, plan.service, plan.current, plan.current)
    return backend.scale(plan.service, plan.wanted)


def parse_memory(text: str) -> int:
    """``512m``, ``1g``, ``1.5g``, ``1GiB`` or bytes -> bytes (binary units, as docker reads
    them); InputError otherwise."""
    found = _MEMORY.match(text)
    if found is None:
        raise InputError(f"memory {text!r}: give a size such as 512m, 1g or 1.5g")
    value = math.floor(float(found[1]) * _UNITS[found[2].lower()])
    if value < _MIN_MEMORY:
        raise InputError(f"memory {text!r}: the engine needs at least 6m")
    return value


def plan_limits(
    backend: ScalingBackend, service: str, *, cpus: float | None, memory: int | None
) -> LimitPlan:
    """The plan to set ``cpus`` and ``memory`` (bytes) on ``service``; InputError when neither
    is given, CPUs are not positive, or the memory limit is below what a replica uses now."""
    if cpus is None and memory is None:
        raise InputError("limits set: give --cpus, --memory or both")
    if cpus is not None and not (0 < cpus <= 1024):
        raise InputError(f"limits set: --cpus {cpus:g}: give a number of CPUs above 0")
    current = backend.limits(service)
    in_use = backend.memory_in_use(service) if memory is not None else {}
    if memory is not None:
        over = {name: used for name, used in in_use.items() if used >= memory}
        if over:
            name, used = max(over.items(), key=lambda item: item[1])
            raise InputError(
                f"limits set {service}: memory {_mib(memory)} is below what {name} uses now "
                f"({_mib(used)}): refused"
            )
    wanted = ResourceLimits(
        cpus=current.cpus if cpus is None else cpus,
        memory_bytes=current.memory_bytes if memory is None else memory,
    )
    return LimitPlan(backend.name, service, current, wanted, in_use)


def apply_limits(backend: ScalingBackend, plan: LimitPlan) -> list[str]:
    """Apply ``plan`` to the running replicas and to those scaled up later; what was updated."""
    return backend.set_limits(plan.service, plan.wanted)


def _mib(value: int) -> str:
    return f"{value / (1 << 20):.1f} MiB"
