"""Verdicts become test outcomes: exit status, terminal lines, JUnit properties, inertness."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.pytest_plugin.conftest import RESULTS

pytest_plugins = ["pytester"]


def _one_check(checks: pytest.Pytester, value: str) -> None:
    checks.makepyfile(
        test_check=RESULTS
        + f"""

@pytest.mark.sop("daily.health")
def test_cpu(ops_verdict):
    ops_verdict(cpu({value}))
"""
    )


@pytest.mark.parametrize(
    ("value", "fail_on", "exit_status", "word"),
    [
        ("10", "critical", 0, "OK"),
        ("85", "critical", 0, "WARNING"),
        ("85", "warning", 1, "WARNING"),
        ("99", "critical", 1, "CRITICAL"),
        ("99", "warning", 1, "CRITICAL"),
        ("None", "critical", 1, "UNKNOWN"),
        ("10", "warning", 0, "OK"),
    ],
)
def test_exit_status_follows_severity_and_fail_on(
    checks: pytest.Pytester, value: str, fail_on: str, exit_status: int, word: str
) -> None:
    _one_check(checks, value)
    result = checks.runpytest("-v", f"--ops-fail-on={fail_on}")
    assert result.ret == exit_status
    result.stdout.fnmatch_lines([f"test_check.py::test_cpu {word} [[]daily.health]*"])
    counts = {"OK": 0, "WARNING": 0, "CRITICAL": 0, "UNKNOWN": 0} | {word: 1}
    line = "opslib: " + ", ".join(f"{n} {name}" for name, n in counts.items())
    result.stdout.fnmatch_lines([line])


def test_failure_message_says_measured_threshold_and_next_step(checks: pytest.Pytester) -> None:
    _one_check(checks, "99")
    result = checks.runpytest()
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "CRITICAL: CPU usage",
            "  CRITICAL: cpu_percent[[]scraper-1] = 99 % (warn > 80 %, crit > 95 %)",
            "  next: scale the scraper service (runbook: Daily 1)",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    assert "ops_verdict(" not in result.stdout.str()


def test_warning_passes_but_shows_as_w(checks: pytest.Pytester) -> None:
    _one_check(checks, "85")
    result = checks.runpytest()
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        ["test_check.py W*", "opslib: 0 OK, 1 WARNING, 0 CRITICAL, 0 UNKNOWN"]
    )
    result.assert_outcomes(passed=1)


def test_ops_error_in_a_check_is_one_unknown_line(checks: pytest.Pytester) -> None:
    checks.makepyfile(
        test_check="""
import pytest
from opslib.errors import DependencyError

@pytest.mark.sop("daily.health")
def test_query(ops_verdict):
    raise DependencyError("postgresql", "relation \\"price_history\\" does not exist")
"""
    )
    result = checks.runpytest()
    assert result.ret == 1
    text = result.stdout.str()
    assert 'UNKNOWN: postgresql: relation "price_history" does not exist' in text
    assert "raise DependencyError" not in text
    assert "Traceback" not in text
    result.stdout.fnmatch_lines(["opslib: 0 OK, 0 WARNING, 0 CRITICAL, 1 UNKNOWN"])


def test_a_bug_in_a_check_keeps_its_traceback_and_is_unknown(checks: pytest.Pytester) -> None:
    checks.makepyfile(
        test_check="""
import pytest

@pytest.mark.sop("daily.health")
def test_bug(ops_verdict):
    rows = {}
    rows["missing"]
"""
    )
    result = checks.runpytest("-v")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        ["test_check.py::test_bug UNKNOWN [[]daily.health]*", '>*rows[[]"missing"]', "E*KeyError*"]
    )


def test_junit_carries_sop_and_severity(checks: pytest.Pytester) -> None:
    checks.makepyfile(
        test_check=RESULTS
        + """

@pytest.mark.sop("daily.health")
def test_ok(ops_verdict):
    ops_verdict(cpu(10))

@pytest.mark.sop("daily.performance")
def test_critical(ops_verdict):
    ops_verdict(cpu(99, sop="daily.performance"))

def test_plain():
    pass
"""
    )
    checks.runpytest("--junitxml=junit.xml")
    tree = ET.parse(checks.path / "junit.xml")
    properties = {
        case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")}
        for case in tree.iter("testcase")
    }
    assert properties == {
        "test_ok": {"sop": "daily.health", "severity": "OK"},
        "test_critical": {"sop": "daily.performance", "severity": "CRITICAL"},
        "test_plain": {},
    }


def test_inert_for_tests_without_sop_or_ops_fixtures(checks: pytest.Pytester) -> None:
    checks.makepyfile(
        test_plain="""
from opslib.errors import DependencyError

def test_passes():
    assert True

def test_raises_ops_error():
    raise DependencyError("postgresql", "boom")
"""
    )
    result = checks.runpytest("-v", "--strict-markers")
    assert result.ret == 1
    text = result.stdout.str()
    assert "opslib:" not in text
    # pytest's own rendering: PASSED, and the full traceback of the OpsError.
    result.stdout.fnmatch_lines(["*test_passes PASSED*", "*raise DependencyError*"])
    assert "UNKNOWN" not in text


def test_sop_marker_is_registered_and_needs_one_id(checks: pytest.Pytester) -> None:
    checks.makepyfile(
        test_check="""
import pytest

@pytest.mark.sop
def test_unnamed():
    pass
"""
    )
    result = checks.runpytest("--strict-markers")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*test_unnamed: the sop marker takes one SOP id*"])
    markers = checks.runpytest("--markers")
    markers.stdout.fnmatch_lines(["@pytest.mark.sop(id): the runbook SOP*"])


def test_skipped_check_has_no_severity(checks: pytest.Pytester) -> None:
    checks.makepyfile(
        test_check="""
import pytest

@pytest.mark.sop("daily.health")
def test_skipped(ops_verdict):
    pytest.skip("no docker here")
"""
    )
    result = checks.runpytest("-rs")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        ["opslib: 0 OK, 0 WARNING, 0 CRITICAL, 0 UNKNOWN", "SKIPPED*no docker here"]
    )
