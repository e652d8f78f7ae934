"""The JSON summary: where it goes, and its shape."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from tests.pytest_plugin.conftest import RESULTS

pytest_plugins = ["pytester"]

CHECKS = (
    RESULTS
    + '''

@pytest.mark.sop("daily.health")
def test_warning(ops_verdict):
    """CPU of every scraper under threshold."""
    ops_verdict(cpu(85))


@pytest.mark.sop("daily.quality")
def test_unknown(ops_verdict):
    ops_verdict(CheckResult.unknown("daily.quality", "Hourly coverage", "no rows at all"))


def test_plain():
    pass
'''
)


def test_summary_next_to_html(checks: pytest.Pytester) -> None:
    checks.makepyfile(test_daily=CHECKS)
    result = checks.runpytest("--html=out/daily.html")
    assert result.ret == 1
    summary = json.loads((checks.path / "out" / "daily.json").read_text())
    assert set(summary) == {
        "schema",
        "started",
        "finished",
        "duration",
        "exit_status",
        "fail_on",
        "platform",
        "counts",
        "config_error",
        "config_problems",
        "skipped",
        "checks",
    }
    started = datetime.fromisoformat(summary["started"])
    finished = datetime.fromisoformat(summary["finished"])
    assert started <= finished
    assert started.tzinfo is not None
    assert 0 <= summary["duration"] < 60
    assert summary["exit_status"] == 1
    assert summary["fail_on"] == "CRITICAL"
    assert summary["platform"] is None  # these checks read no settings
    assert summary["counts"] == {"OK": 0, "WARNING": 1, "CRITICAL": 0, "UNKNOWN": 1}
    warning, unknown = summary["checks"]
    assert warning == {
        "nodeid": "test_daily.py::test_warning",
        "sop": "daily.health",
        "title": "CPU usage",
        "severity": "WARNING",
        "outcome": "passed",
        "message": warning["message"],
        "measurements": [
            {
                "name": "cpu_percent",
                "subject": "scraper-1",
                "value": 85,
                "unit": "%",
                "threshold": {"warn": 80, "crit": 95, "bad": "above"},
                "severity": "WARNING",
                "note": "",
            },
            {
                "name": "cpu_percent",
                "subject": "scraper-2",
                "value": 12.0,
                "unit": "%",
                "threshold": {"warn": 80, "crit": 95, "bad": "above"},
                "severity": "OK",
                "note": "",
            },
        ],
        "remediation": "scale the scraper service (runbook: Daily 1)",
    }
    assert warning["message"].startswith("WARNING: CPU usage\n")
    assert unknown["severity"] == "UNKNOWN"
    assert unknown["outcome"] == "failed"
    assert unknown["message"] == "UNKNOWN: Hourly coverage: no rows at all"
    assert unknown["measurements"] == []
    assert [p.name for p in (checks.path / "out").iterdir() if p.suffix == ".tmp"] == []
    result.stdout.fnmatch_lines(["opslib reports: HTML */out/daily.html, JSON */out/daily.json"])


def test_explicit_summary_path_and_fail_on(checks: pytest.Pytester) -> None:
    checks.makepyfile(test_daily=CHECKS)
    result = checks.runpytest(
        "--ops-summary=reports/s.json", "--ops-fail-on=warning", "-k", "warning"
    )
    assert result.ret == 1
    summary = json.loads((checks.path / "reports" / "s.json").read_text())
    assert summary["fail_on"] == "WARNING"
    assert [c["outcome"] for c in summary["checks"]] == ["failed"]


def test_no_summary_without_html_or_path(checks: pytest.Pytester) -> None:
    checks.makepyfile(test_daily=CHECKS)
    checks.runpytest()
    assert list(checks.path.rglob("*.json")) == []


def test_not_a_number_becomes_null(checks: pytest.Pytester) -> None:
    checks.makepyfile(
        test_nan="""
import pytest
from opslib.results import CheckResult, Measurement, Threshold

@pytest.mark.sop("daily.performance")
def test_nan(ops_verdict):
    queue = Measurement("queue_size", float("nan"), Threshold(warn=1, crit=2))
    ops_verdict(CheckResult("daily.performance", "Queue", (queue,)))
"""
    )
    result = checks.runpytest("--ops-summary=s.json")
    assert result.ret == 1
    (check,) = json.loads((checks.path / "s.json").read_text())["checks"]
    assert check["severity"] == "UNKNOWN"
    assert check["measurements"][0]["value"] is None
