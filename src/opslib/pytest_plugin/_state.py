"""Per-run state in ``config.stash``: options, secrets to mask, and one record per check."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from opslib.errors import OpsError, UnreachableError
from opslib.redact import redact
from opslib.results import CheckResult, Severity

__all__ = [
    "OPS_FIXTURES",
    "RESULT_KEY",
    "SEVERITIES",
    "STATE_KEY",
    "VERDICT_FAILED_KEY",
    "CheckRecord",
    "RunState",
    "describe_error",
    "is_ops_item",
    "run_state",
    "sop_of",
    "title_of",
]

OPS_FIXTURES = frozenset(
    {"ops_db", "ops_metrics", "ops_platform", "ops_prometheus", "ops_settings", "ops_verdict"}
)
SEVERITIES = (Severity.OK, Severity.WARNING, Severity.CRITICAL, Severity.UNKNOWN)


@dataclass(frozen=True)
class CheckRecord:
    """How one check ended: its severity (``None`` when skipped) and the one message about it."""

    nodeid: str
    sop: str
    title: str
    severity: Severity | None
    outcome: str
    message: str
    result: CheckResult | None = None


@dataclass
class RunState:
    """What the plugin knows about the current run."""

    fail_on: Severity
    config_file: Path | None
    summary_path: Path | None
    summary_explicit: bool
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    started_clock: float = field(default_factory=time.monotonic)
    records: dict[str, CheckRecord] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    ops_items: int = 0
    suites: list[str] = field(default_factory=list)
    summary_written: Path | None = None
    summary_error: str = ""
    config_error: str = ""
    config_problems: tuple[str, ...] = ()
    platform: str = ""

    def fails(self, severity: Severity) -> bool:
        """Whether ``severity`` fails the run: CRITICAL and UNKNOWN always, WARNING on request."""
        if severity is Severity.WARNING:
            return self.fail_on is Severity.WARNING
        return severity in (Severity.CRITICAL, Severity.UNKNOWN)

    def clean(self, text: str) -> str:
        """``text`` with every known secret and URL credential masked."""
        return redact(text, *self.secrets)

    def counts(self) -> dict[str, int]:
        """Checks per severity, every severity present (skipped checks not counted)."""
        counts = {s.name: 0 for s in SEVERITIES}
        for record in self.records.values():
            if record.severity is not None:
                counts[record.severity.name] += 1
        return counts

    def count_line(self) -> str:
        """``opslib: 3 OK, 1 WARNING, 0 CRITICAL, 0 UNKNOWN``."""
        return "opslib: " + ", ".join(f"{n} {name}" for name, n in self.counts().items())


STATE_KEY = pytest.StashKey[RunState]()
RESULT_KEY = pytest.StashKey[CheckResult]()
"""Where ``ops_verdict`` keeps a check's :class:`~opslib.results.CheckResult` on its item."""
VERDICT_FAILED_KEY = pytest.StashKey[bool]()


def run_state(config: pytest.Config) -> RunState:
    """The plugin state of ``config`` (set up in ``pytest_configure``)."""
    return config.stash[STATE_KEY]


def is_ops_item(item: pytest.Item) -> bool:
    """An opslib check: marked with ``sop`` or using one of the plugin's fixtures."""
    if item.get_closest_marker("sop") is not None:
        return True
    names = getattr(item, "fixturenames", ())
    return any(name in OPS_FIXTURES for name in names)


def sop_of(item: pytest.Item) -> str:
    """The SOP id from the item's ``sop`` marker, else the one in its result, else ``""``."""
    marker = item.get_closest_marker("sop")
    if marker is not None and marker.args:
        return str(marker.args[0])
    result = item.stash.get(RESULT_KEY, None)
    return result.sop if result is not None else ""


def title_of(item: pytest.Item) -> str:
    """The result's title, else the first line of the test's docstring, else its name."""
    result = item.stash.get(RESULT_KEY, None)
    if result is not None and result.title:
        return result.title
    doc: object = getattr(getattr(item, "obj", None), "__doc__", None)
    if isinstance(doc, str) and doc.strip():
        return doc.strip().splitlines()[0]
    return item.name


def describe_error(exc: BaseException) -> str:
    """One line about an OpsError, e.g. ``prometheus unreachable: http://...: refused``."""
    if isinstance(exc, UnreachableError):
        text = f"{exc.dependency} unreachable: {exc.reason}"
    elif isinstance(exc, OpsError):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())
