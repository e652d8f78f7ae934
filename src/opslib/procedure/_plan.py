"""Plans: which steps run, in which order, with which options; read from a TOML file.

::

    reason = "deploy v2.4"                      # optional
    steps = ["notice", "backup", "..."]         # optional: default every step, runbook order
    [step.pull_images]                          # options of one step
    registry = "http://registry.internal:5000"
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from opslib.errors import InputError
from opslib.procedure._step import Procedure, ProcedureContext
from opslib.procedure._steps import STEPS, make_step

__all__ = ["EMERGENCY_STEPS", "RUNBOOK_STEPS", "Plan", "read_plan"]

RUNBOOK_STEPS: tuple[str, ...] = (
    "notice",
    "backup",
    "maintenance_on",
    "stop_services",
    "pull_images",
    "migrations",
    "update_configs",
    "start_services",
    "verify_health",
    "verify_data_flow",
    "maintenance_off",
    "completion_notice",
)
"""The scheduled procedure's steps, in the runbook's order."""

EMERGENCY_STEPS: tuple[str, ...] = (
    "stop_services",
    "backup",
    "fix",
    "start_services",
    "verify_health",
    "verify_data_flow",
    "monitor",
)
"""The emergency procedure's steps (runbook: Emergency Maintenance)."""

Kind = Literal["scheduled", "emergency"]


@dataclass(frozen=True)
class Plan:
    """Steps by name with their options, the reason, and the kind of procedure."""

    kind: Kind = "scheduled"
    reason: str = "scheduled maintenance"
    steps: tuple[str, ...] = RUNBOOK_STEPS
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        known = ", ".join(STEPS)
        for name in [*self.steps, *self.options]:
            if name not in STEPS:
                raise InputError(f"unknown step {name!r} (known: {known})")
        twice = sorted({n for n in self.steps if self.steps.count(n) > 1})
        if twice:
            raise InputError(f"step {twice[0]!r} is listed twice")
        for name, options in self.options.items():
            try:
                STEPS[name].Options.model_validate(dict(options))
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise InputError(f"step.{name}.{where}: {first['msg']}") from None

    def procedure(self) -> Procedure:
        """The steps, built."""
        return Procedure(*(make_step(n, dict(self.options.get(n, {}))) for n in self.steps))

    def describe(self, ctx: ProcedureContext) -> list[str]:
        """One line per step: what it would do."""
        return [f"{i}. {s.name}: {s.plan(ctx)}" for i, s in enumerate(self.procedure(), 1)]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (stored with the run, so ``--resume`` needs no plan file)."""
        return {
            "kind": self.kind,
            "reason": self.reason,
            "steps": [{"name": n, "options": dict(self.options.get(n, {}))} for n in self.steps],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        """The plan a run stored."""
        steps: Sequence[Mapping[str, Any]] = data.get("steps", [])
        return cls(
            kind=data.get("kind", "scheduled"),
            reason=str(data.get("reason", "scheduled maintenance")),
            steps=tuple(str(s["name"]) for s in steps),
            options={str(s["name"]): dict(s.get("options", {})) for s in steps if s.get("options")},
        )


def read_plan(path: Path, *, kind: Kind = "scheduled", reason: str | None = None) -> Plan:
    """The plan in TOML file ``path``; InputError with one line when it cannot be used."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"plan {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"plan {path}: cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"plan {path}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"reason", "steps", "step"})
    if unknown:
        raise InputError(f"plan {path}: unknown key {unknown[0]!r} (reason, steps, [step.<name>])")
    steps = data.get("steps", list(RUNBOOK_STEPS if kind == "scheduled" else EMERGENCY_STEPS))
    options = data.get("step", {})
    if not isinstance(steps, list) or not all(isinstance(s, str) for s in steps):
        raise InputError(f"plan {path}: steps must be a list of step names")
    if not isinstance(options, dict) or not all(isinstance(v, dict) for v in options.values()):
        raise InputError(f"plan {path}: [step.<name>] tables hold a step's options")
    given_reason = data.get("reason", reason or "scheduled maintenance")
    if not isinstance(given_reason, str) or not given_reason.strip():
        raise InputError(f"plan {path}: reason must be a non-empty string")
    try:
        return Plan(kind, reason or given_reason, tuple(steps), options)
    except InputError as exc:
        raise InputError(f"plan {path}: {exc}") from None
