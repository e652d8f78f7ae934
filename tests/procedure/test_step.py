"""Step composition: ``retried`` and ``optional`` around real step objects, with an injected
sleep (no test waits)."""

from __future__ import annotations

from typing import Any

import pytest

from opslib.errors import DataError, DependencyError
from opslib.procedure import Procedure, ProcedureContext, Skip, optional, retried


class Flaky:
    """A step whose ``run`` fails ``failures`` times, then succeeds; ``verify`` may fail."""

    name = "flaky"

    def __init__(self, failures: int, *, verify_fails: bool = False) -> None:
        self.failures, self.calls, self.verify_fails = failures, 0, verify_fails

    def plan(self, ctx: ProcedureContext) -> str:
        return "do the flaky thing"

    def run(self, ctx: ProcedureContext) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise DependencyError("thing", f"attempt {self.calls} refused")
        return f"done on attempt {self.calls}"

    def verify(self, ctx: ProcedureContext) -> str:
        if self.verify_fails:
            raise DataError("outcome does not hold")
        return "holds"


class Broken(Flaky):
    name = "broken"

    def run(self, ctx: ProcedureContext) -> str:
        raise ValueError("a bug, not an operational failure")


@pytest.fixture
def ctx() -> tuple[ProcedureContext, list[float], list[str]]:
    slept: list[float] = []
    said: list[str] = []
    context: Any = ProcedureContext(settings=None, db=None, audit=None)  # type: ignore[arg-type]
    context.sleep, context.say = slept.append, said.append
    return context, slept, said


Ctx = tuple[ProcedureContext, list[float], list[str]]


def test_retried_tries_again_after_a_wait_and_says_so(ctx: Ctx) -> None:
    context, slept, said = ctx
    step = retried(Flaky(2), attempts=3, wait=4.0)
    assert step.name == "flaky"
    assert step.plan(context) == "do the flaky thing (up to 3 attempts)"
    assert step.run(context) == "done on attempt 3"
    assert slept == [4.0, 4.0]
    assert said == [
        "  flaky: attempt 1 failed (thing: attempt 1 refused); trying again",
        "  flaky: attempt 2 failed (thing: attempt 2 refused); trying again",
    ]
    assert step.verify(context) == "holds"


def test_retried_gives_up_with_the_last_error(ctx: Ctx) -> None:
    context, slept, _ = ctx
    inner = Flaky(5)
    with pytest.raises(DependencyError, match="attempt 3 refused"):
        retried(inner, attempts=3, wait=1.0).run(context)
    assert inner.calls == 3
    assert slept == [1.0, 1.0]  # no wait after the last attempt


def test_retried_does_not_retry_what_is_not_an_ops_error(ctx: Ctx) -> None:
    context, slept, _ = ctx
    inner = Broken(0)
    with pytest.raises(ValueError, match="a bug"):
        retried(inner, attempts=3).run(context)
    assert slept == []


def test_optional_turns_a_failure_into_a_skip(ctx: Ctx) -> None:
    context, _, _ = ctx
    step = optional(Flaky(1, verify_fails=True))
    assert step.plan(context).endswith("(optional: a failure is reported, the run goes on)")
    with pytest.raises(Skip, match="failed, optional: thing: attempt 1 refused"):
        step.run(context)
    assert step.run(context) == "done on attempt 2"
    assert step.verify(context) == "not verified, optional: outcome does not hold"
    with pytest.raises(ValueError, match="a bug"):
        optional(Broken(0)).run(context)


def test_wrapped_steps_compose_into_procedures(ctx: Ctx) -> None:
    procedure = optional(Flaky(0)) + retried(Broken(0))  # type: ignore[operator]
    assert isinstance(procedure, Procedure)
    assert procedure.names == ["flaky", "broken"]
    with pytest.raises(ValueError, match="given twice"):
        Procedure(Flaky(0), retried(Flaky(0)))
