"""The JSON summary of a run, written atomically at session finish."""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opslib._files import write_atomic
from opslib.pytest_plugin._state import CheckRecord, RunState
from opslib.results import Measurement

__all__ = ["build_summary", "write_summary"]

SCHEMA_VERSION = 1


def build_summary(state: RunState, exit_status: int) -> dict[str, Any]:
    """The summary document: timing, exit status, counts per severity, and every check."""
    finished = datetime.now(UTC)
    return {
        "schema": SCHEMA_VERSION,
        "started": state.started.isoformat(),
        "finished": finished.isoformat(),
        "duration": round(time.monotonic() - state.started_clock, 3),
        "exit_status": int(exit_status),
        "fail_on": state.fail_on.name,
        "platform": state.platform or None,
        "counts": state.counts(),
        "config_error": state.config_error or None,
        "config_problems": list(state.config_problems),
        "skipped": sum(1 for r in state.records.values() if r.severity is None),
        "checks": [_check(record, state) for record in state.records.values()],
    }


def write_summary(path: Path, document: dict[str, Any]) -> None:
    """Write ``document`` to ``path`` via a temporary file and a rename (never half a file)."""
    write_atomic(path, json.dumps(document, indent=2, allow_nan=False) + "\n")


def _check(record: CheckRecord, state: RunState) -> dict[str, Any]:
    result = record.result
    measurements = result.measurements if result is not None else ()
    return {
        "nodeid": record.nodeid,
        "sop": record.sop,
        "title": state.clean(record.title),
        "severity": record.severity.name if record.severity is not None else None,
        "outcome": record.outcome,
        "message": state.clean(record.message),
        "measurements": [_measurement(m, state) for m in measurements],
        "remediation": state.clean(result.remediation) if result is not None else "",
    }


def _measurement(m: Measurement, state: RunState) -> dict[str, Any]:
    threshold = None
    if m.threshold is not None:
        threshold = {
            "warn": _number(m.threshold.warn),
            "crit": _number(m.threshold.crit),
            "bad": m.threshold.bad,
        }
    return {
        "name": state.clean(m.name),
        "subject": state.clean(m.subject),
        "value": _number(m.value),
        "unit": m.unit,
        "threshold": threshold,
        "severity": m.severity.name,
        "note": state.clean(m.note),
    }


def _number(value: float | None) -> float | None:
    """JSON has no NaN or infinity: those, like nothing measured, become null."""
    if value is None or not math.isfinite(value):
        return None
    return value
