"""``--ops-notify``: one alert on the notify channels when checks end CRITICAL or UNKNOWN
(and WARNING with ``--ops-notify=warning``), sent at the end of the run.

A failed send is a line in the terminal summary and leaves the exit status alone: that is
the checks' verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from opslib.errors import OpsError
from opslib.pytest_plugin._state import RunState
from opslib.results import Severity

__all__ = ["ALERTS_KEY", "LEVELS", "Alerting", "alerted", "send_alert"]

LEVELS = {"critical": Severity.CRITICAL, "warning": Severity.WARNING}
"""``--ops-notify`` values: the lowest severity that is alerted (UNKNOWN always is)."""


@dataclass
class Alerting:
    """What ``--ops-notify`` asked for and how the alert went."""

    level: Severity | None = None
    sent: list[str] = field(default_factory=list)
    checks: int = 0
    problems: list[str] = field(default_factory=list)
    quiet: str = ""

    @property
    def wanted(self) -> bool:
        return self.level is not None

    def notes(self) -> list[tuple[str, bool]]:
        """Lines for the terminal summary, each with whether it reports a problem."""
        lines = [(f"opslib: {problem}", True) for problem in self.problems]
        if self.sent:
            lines.append(
                (f"opslib: alert on {self.checks} check(s) sent to {', '.join(self.sent)}", False)
            )
        if self.quiet:
            lines.append((f"opslib: no alert sent: {self.quiet}", False))
        return lines


ALERTS_KEY = pytest.StashKey[Alerting]()


def _alerting(severity: Severity, level: Severity) -> bool:
    if severity in (Severity.CRITICAL, Severity.UNKNOWN):
        return True
    return severity is Severity.WARNING and level is Severity.WARNING


def alerted(state: RunState, level: Severity) -> list[tuple[str, str, str, str]]:
    """(sop, check, severity, message) of every check the alert lists, in run order."""
    return [
        (r.sop, r.title or r.nodeid, r.severity.name, r.message)
        for r in state.records.values()
        if r.severity is not None and _alerting(r.severity, level)
    ]


def send_alert(state: RunState, alerting: Alerting, finished: datetime, report: str | None) -> None:
    """Send one alert listing the alerted checks; record the outcome on ``alerting``."""
    from opslib.config import load_settings
    from opslib.notify import AlertedCheck, alert_notice, channels_for, send_notice

    assert alerting.level is not None
    found = alerted(state, alerting.level)
    if not found:
        words = "CRITICAL, UNKNOWN or WARNING" if alerting.level is Severity.WARNING else (
            "CRITICAL or UNKNOWN"
        )  # fmt: skip
        alerting.quiet = f"no check {words}"
        return
    try:
        settings = load_settings(state.config_file)
    except OpsError as exc:
        alerting.problems.append(state.clean(f"alert not sent: {exc}"))
        return
    state.secrets.extend(settings.secrets())
    notify = settings.notify
    if not channels_for("alert", notify):
        alerting.problems.append(
            "alert not sent: no notification channel carries alerts ([[notify.channels]])"
        )
        return
    from opslib.connect import describe_platform

    notice = alert_notice(
        [AlertedCheck(*(state.clean(part) for part in check)) for check in found],
        platform=state.platform or state.clean(describe_platform(settings)),
        finished=finished,
        contact=notify.contact,
        report=report,
        zone=ZoneInfo(notify.timezone),
    )
    result = send_notice(notice, notify)
    alerting.checks = len(found)
    alerting.sent = [d.channel for d in result.sent]
    for delivery in result.failed:
        alerting.problems.append(
            state.clean(
                f"alert not sent to {delivery.channel} ({delivery.target}): {delivery.reason}"
            )
        )
