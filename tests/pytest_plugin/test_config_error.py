"""Bad configuration ends the whole run with status 2 and one line per bad field."""

from __future__ import annotations

import json

import pytest

pytest_plugins = ["pytester"]

CHECKS = """
import pytest

@pytest.mark.sop("daily.health")
def test_one(ops_settings, ops_verdict):
    raise AssertionError("must not run")

@pytest.mark.sop("daily.health")
def test_two(ops_settings, ops_verdict):
    raise AssertionError("must not run")
"""


def test_bad_file_and_environment_exit_2_with_one_line_per_field(
    checks: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = checks.path / "conf" / "ops.toml"
    config.parent.mkdir()
    config.write_text(
        'prometheus_url = "ftp://u:s3cretpw@prom"\nnot_a_setting = 1\n', encoding="utf-8"
    )
    monkeypatch.setenv("OPSLIB_TIMEOUTS__HTTP", "-1")
    checks.makepyfile(test_checks=CHECKS)
    result = checks.runpytest(f"--ops-config={config}", "--ops-summary=s.json")
    assert result.ret == 2
    # One line per bad field, naming the field and where it came from (in pydantic's order).
    for line in (
        "opslib: invalid configuration:",
        f"  prometheus_url: *not an http(s) URL* (from file {config})",
        f"  not_a_setting: unknown setting (from file {config})",
        "  timeouts.http: * (from environment variable OPSLIB_TIMEOUTS__HTTP)",
        "*Exit: opslib: invalid configuration (3 problems listed above)*",
    ):
        result.stdout.fnmatch_lines([line])
    text = result.stdout.str() + result.stderr.str()
    assert "must not run" not in text
    assert "Traceback" not in text
    assert "s3cretpw" not in text
    summary = json.loads((checks.path / "s.json").read_text())
    assert summary["exit_status"] == 2
    assert summary["config_error"] == "invalid configuration"
    assert len(summary["config_problems"]) == 3
    assert "s3cretpw" not in json.dumps(summary)


def test_opslib_toml_in_working_directory_is_used(checks: pytest.Pytester) -> None:
    checks.makefile(".toml", opslib="[timeouts]\nconnect = 0\n")
    checks.makepyfile(test_checks=CHECKS)
    result = checks.runpytest()
    assert result.ret == 2
    result.stdout.fnmatch_lines(["  timeouts.connect: * (from file *opslib.toml)"])
