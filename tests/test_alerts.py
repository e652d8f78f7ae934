"""The alerting rules for check results: one file in two places, and what fires when (promtool)."""

from __future__ import annotations

import json
import shutil
import subprocess
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from tests.support import require

ROOT = Path(__file__).resolve().parents[1]
PACKAGED = ROOT / "src" / "opslib" / "alerts.yml"


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    require(found is not None, "promtool not installed (apt-get install prometheus)")
    assert found is not None
    return found


def test_docs_copy_is_the_packaged_file() -> None:
    assert (ROOT / "docs" / "alerts.yml").read_bytes() == PACKAGED.read_bytes()


def test_packaged_file_is_found_as_package_data() -> None:
    assert files("opslib").joinpath("alerts.yml").read_bytes() == PACKAGED.read_bytes()


def test_rules_are_valid(promtool: str) -> None:
    run = subprocess.run(
        [promtool, "check", "rules", str(PACKAGED)], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "SUCCESS: 4 rules found" in run.stdout


def _status(check: str, values: str) -> dict[str, str]:
    labels = f'suite="daily",sop="daily.health",check="{check}"'
    return {"series": f"opslib_check_status{{{labels}}}", "values": values}


def _check_alert(check: str, word: str, what: str) -> dict[str, Any]:
    return {
        "exp_labels": {"severity": "critical", "suite": "daily", "sop": "daily.health",
                       "check": check},
        "exp_annotations": {"summary": f"daily.health {word}: {check}", "description": what},
    }  # fmt: skip


CRITICAL_TEXT = (
    "The last daily run judged t.py::crit CRITICAL. Its report (HTML or JSON) shows what was "
    "measured against which limit, and the runbook action."
)
UNKNOWN_TEXT = (
    "The last daily run could not measure t.py::unknown: a dependency was unreachable or the "
    "check broke. Its report says which, in one line."
)
STALE_TEXT = (
    "No run of the daily checks has reported since; their last results no longer say how the "
    "platform is. Is the scheduled run failing to start, or to write or push its results?"
)
MISSING_TEXT = (
    "Prometheus has no result of the daily checks: the run never wrote or pushed one, or the "
    "textfile collector or Pushgateway holding it is not scraped."
)


def _last_run(suite: str, minutes: int) -> dict[str, str]:
    # The run ended at time 0 and reports the same timestamp for as long as its result stays.
    return {
        "series": f'opslib_suite_last_run_timestamp_seconds{{suite="{suite}"}}',
        "values": f"0x{minutes}",
    }


RULE_TESTS: list[dict[str, Any]] = [
    {
        "interval": "1m",
        "input_series": [
            _status("t.py::ok", "0x10"),
            _status("t.py::warning", "1x10"),
            _status("t.py::crit", "2x10"),
            _status("t.py::unknown", "3x10"),
            _status("t.py::healed", "2x4 0x5"),
        ],
        "alert_rule_test": [
            {"eval_time": "2m", "alertname": "OpslibCheckCritical", "exp_alerts": [
                _check_alert("t.py::crit", "CRITICAL", CRITICAL_TEXT),
                _check_alert("t.py::healed", "CRITICAL", CRITICAL_TEXT.replace(
                    "t.py::crit", "t.py::healed")),
            ]},
            {"eval_time": "8m", "alertname": "OpslibCheckCritical", "exp_alerts": [
                _check_alert("t.py::crit", "CRITICAL", CRITICAL_TEXT),
            ]},
            {"eval_time": "8m", "alertname": "OpslibCheckUnknown", "exp_alerts": [
                _check_alert("t.py::unknown", "UNKNOWN", UNKNOWN_TEXT),
            ]},
        ],
    },
    {
        "interval": "1m",
        "input_series": [_last_run("daily", 2000), _last_run("weekly", 2000),
                         _last_run("emergency", 2000)],
        "alert_rule_test": [
            {"eval_time": "25h", "alertname": "OpslibResultsStale", "exp_alerts": []},
            {"eval_time": "27h", "alertname": "OpslibResultsStale", "exp_alerts": [{
                "exp_labels": {"severity": "warning", "suite": "daily"},
                "exp_annotations": {"summary": "opslib daily results are 1d 3h 0m 0s old",
                                    "description": STALE_TEXT},
            }]},
            {"eval_time": "27h", "alertname": "OpslibResultsMissing", "exp_alerts": []},
        ],
    },
    {
        "interval": "1m",
        "input_series": [_last_run("weekly", 2000)],
        "alert_rule_test": [
            {"eval_time": "25h", "alertname": "OpslibResultsMissing", "exp_alerts": []},
            {"eval_time": "27h", "alertname": "OpslibResultsMissing", "exp_alerts": [{
                "exp_labels": {"severity": "warning", "suite": "daily"},
                "exp_annotations": {
                    "summary": "opslib daily results have not arrived for 26 hours",
                    "description": MISSING_TEXT,
                },
            }]},
        ],
    },
]  # fmt: skip


def test_rules_fire_on_critical_unknown_stale_and_missing(promtool: str, tmp_path: Path) -> None:
    """CRITICAL and UNKNOWN fire at once and resolve with the next result; WARNING and OK
    never; a daily result older than 26 h is stale, a weekly one is not yet; on-demand suites
    never go stale; no daily result at all for 26 h is missing."""
    spec = tmp_path / "alerts_test.yml"
    # JSON is YAML.
    spec.write_text(
        json.dumps({"rule_files": [str(PACKAGED)], "evaluation_interval": "1m",
                    "tests": RULE_TESTS}, indent=1)
    )  # fmt: skip
    run = subprocess.run(
        [promtool, "test", "rules", str(spec)], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "SUCCESS" in run.stdout
