"""``opslib security monitor`` on a real database and an access log: after a block the
incident's source is watched; a new source with its pattern, a blocked source still answered
and a source back once unblocked are each reported, with the exit status saying so."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from opslib.cli import main
from opslib.results import Severity
from opslib.security import RecurrenceReport, watch_for_recurrence
from tests.dbkit import TestDatabase
from tests.security._logs import clf, seconds


def _monitor(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main(["--json", "security", "monitor", "--once"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def _append(log: Path, lines: list[bytes]) -> None:
    with log.open("ab") as out:
        out.write(b"".join(lines))


def test_monitor_reports_pattern_through_and_back(
    env: TestDatabase,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log = tmp_path / "access.log"
    monkeypatch.setenv("OPSLIB_SECURITY__ACCESS_LOGS", json.dumps([str(log)]))
    monkeypatch.setenv("OPSLIB_SECURITY__CACHE_SECONDS", "0")
    start = datetime.now(UTC) - timedelta(minutes=10)
    _append(log, [clf(f"10.0.1.{i % 5}", at=start + seconds(i)) for i in range(300)])
    _append(log, [clf("10.6.6.6", "/login", 401, at=start + seconds(i / 2)) for i in range(400)])
    assert main(["security", "monitor", "--once"]) == 2  # no incident yet: one line
    assert "no open incident" in capsys.readouterr().err
    assert main(["security", "block", "10.6.6.6", "--for", "2h", "--reason", "brute force"]) == 0
    capsys.readouterr()
    code, report = _monitor(capsys)
    assert (code, report["recurred"], report["watched"]) == (0, False, ["10.6.6.6/32"])
    assert "auth" in report["pattern"]  # kept: the attacker's lines may leave the window

    now = datetime.now(UTC)
    _append(log, [clf("10.7.7.7", "/login", 401, at=now - seconds(i / 2)) for i in range(200)])
    code, report = _monitor(capsys)
    assert code == 1
    [found] = report["recurrences"]
    assert (found["kind"], found["client"]) == ("pattern", "10.7.7.7")
    assert "opslib security block 10.7.7.7" in found["action"]

    time.sleep(3)  # answered later than the block's cache time (0 s here) plus 2 s
    _append(log, [clf("10.6.6.6", "/api/v1/prices", 200, at=datetime.now(UTC))])
    code, report = _monitor(capsys)
    assert code == 2
    assert report["recurrences"][0]["kind"] == "through"
    assert report["recurrences"][0]["action"] == "opslib security firewall --apply"

    assert main(["security", "unblock", "10.6.6.6"]) == 0
    capsys.readouterr()
    code, report = _monitor(capsys)
    assert code == 1
    kinds = {(r["kind"], r["client"]) for r in report["recurrences"]}
    assert ("back", "10.6.6.6") in kinds
    audit = env.fetch_all(
        "SELECT detail FROM opslib.audit_log WHERE action = 'security.monitor' ORDER BY id"
    )
    assert len(audit) == 4  # the pass without an incident was refused before it ran
    assert "recurrence" in audit[-1]["detail"]


def test_watch_runs_every_step_until_the_end_without_sleeping_for_real() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    report = RecurrenceReport(1, datetime.now(UTC), (), frozenset(), (), 0, 0)
    runs = list(
        watch_for_recurrence(
            lambda: report, every=timedelta(minutes=5), length=timedelta(minutes=30),
            sleep=sleep, clock=lambda: now[0],
        )
    )  # fmt: skip
    assert len(runs) == 6
    assert slept == [300.0] * 5
    assert runs[0].severity is Severity.OK
    once = list(watch_for_recurrence(lambda: report, every=timedelta(1), length=timedelta(1),
                                     once=True, sleep=sleep))  # fmt: skip
    assert len(once) == 1
