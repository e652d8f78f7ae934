"""Steps: small objects that plan, run and verify one runbook step, and compose.

A step has a ``name``, ``plan(ctx)`` (one line, no I/O), ``run(ctx)`` (does the work, returns a
one-line detail or raises :class:`Skip`) and ``verify(ctx)`` (checks its own outcome, raises an
:class:`~opslib.errors.OpsError` when it does not hold). Steps compose as tenacity's strategies
do: ``a + b`` is a :class:`Procedure`; :func:`retried` and :func:`optional` wrap a step.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from opslib.errors import OpsError

if TYPE_CHECKING:
    from opslib.adapters import ContainerInfo, Database, Prometheus
    from opslib.audit import AuditLog
    from opslib.config import Settings

__all__ = [
    "Procedure",
    "ProcedureContext",
    "ServiceControl",
    "Skip",
    "Step",
    "optional",
    "retried",
]


class Skip(Exception):
    """Raised by ``run`` when the step has nothing to do here; the message says why."""


class ServiceControl(Protocol):
    """What the stop and start steps need of the platform (:class:`opslib.adapters.Platform`
    has it; a platform whose services are not containers can bring its own)."""

    def containers(self, service: str | None = None) -> list[ContainerInfo]: ...

    def stop(self, containers: list[ContainerInfo], *, timeout: float = 10.0) -> list[str]: ...

    def start(self, containers: list[ContainerInfo]) -> list[str]: ...


@dataclass
class ProcedureContext:
    """What steps work with: settings, adapters (built by the caller), the facts steps hand on
    (persisted with the run after every step and whenever ``save`` is called)."""

    settings: Settings
    db: Database
    audit: AuditLog
    services: ServiceControl | None = None
    prometheus: Prometheus | None = None
    reason: str = "scheduled maintenance"
    run_id: int = 0
    facts: MutableMapping[str, Any] = field(default_factory=dict)
    say: Callable[[str], None] = lambda _line: None
    save: Callable[[], None] = lambda: None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def require_services(self) -> ServiceControl:
        """The platform's services, or a ConfigError saying none is configured."""
        if self.services is None:
            from opslib.errors import ConfigError

            raise ConfigError("no platform adapter: the Docker engine (docker_host) is needed")
        return self.services


@runtime_checkable
class Step(Protocol):
    """One step of a procedure."""

    @property
    def name(self) -> str:
        """The step's name in plans, the run's record and the audit log."""
        ...

    def plan(self, ctx: ProcedureContext) -> str:
        """What the step would do, in one line (no I/O)."""
        ...

    def run(self, ctx: ProcedureContext) -> str:
        """Do it; return one line saying what was done (raise :class:`Skip` to skip)."""
        ...

    def verify(self, ctx: ProcedureContext) -> str:
        """Check the step's outcome; return one line, or raise an OpsError."""
        ...


class Procedure:
    """Steps in order; ``a + b`` (steps or procedures) makes one."""

    def __init__(self, *steps: Step) -> None:
        names = [s.name for s in steps]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"step(s) {', '.join(twice)} given twice")
        self.steps: tuple[Step, ...] = steps

    def __add__(self, other: Step | Procedure) -> Procedure:
        more = other.steps if isinstance(other, Procedure) else (other,)
        return Procedure(*self.steps, *more)

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def names(self) -> list[str]:
        """The steps' names, in order."""
        return [s.name for s in self.steps]


class _Wrapped:
    """A step wrapping another: same name, plan and verify unless overridden."""

    def __init__(self, inner: Step) -> None:
        self.inner = inner

    @property
    def name(self) -> str:
        return self.inner.name

    def __add__(self, other: Step | Procedure) -> Procedure:
        return Procedure(self) + other

    def plan(self, ctx: ProcedureContext) -> str:
        return self.inner.plan(ctx)

    def run(self, ctx: ProcedureContext) -> str:
        return self.inner.run(ctx)

    def verify(self, ctx: ProcedureContext) -> str:
        return self.inner.verify(ctx)


class _Retried(_Wrapped):
    def __init__(self, inner: Step, attempts: int, wait: float) -> None:
        super().__init__(inner)
        self.attempts, self.wait = attempts, wait

    def plan(self, ctx: ProcedureContext) -> str:
        return f"{self.inner.plan(ctx)} (up to {self.attempts} attempts)"

    def run(self, ctx: ProcedureContext) -> str:
        for attempt in range(1, self.attempts + 1):
            try:
                return self.inner.run(ctx)
            except OpsError as exc:
                if attempt == self.attempts:
                    raise
                ctx.say(f"  {self.name}: attempt {attempt} failed ({exc}); trying again")
                ctx.sleep(self.wait)
        raise AssertionError("unreachable")


class _Optional(_Wrapped):
    def plan(self, ctx: ProcedureContext) -> str:
        return f"{self.inner.plan(ctx)} (optional: a failure is reported, the run goes on)"

    def run(self, ctx: ProcedureContext) -> str:
        try:
            return self.inner.run(ctx)
        except OpsError as exc:
            raise Skip(f"failed, optional: {exc}") from exc

    def verify(self, ctx: ProcedureContext) -> str:
        try:
            return self.inner.verify(ctx)
        except OpsError as exc:
            return f"not verified, optional: {exc}"


def retried(step: Step, attempts: int = 3, wait: float = 5.0) -> Step:
    """``step`` with its ``run`` tried up to ``attempts`` times, ``wait`` seconds apart."""
    return _Retried(step, attempts, wait)


def optional(step: Step) -> Step:
    """``step`` whose failure is reported as a skip: the run goes on."""
    return _Optional(step)
