"""The plugin package's public surface."""

from __future__ import annotations

import opslib.pytest_plugin


def test_exports() -> None:
    assert set(opslib.pytest_plugin.__all__) == {
        "RESULT_KEY",
        "CheckRecord",
        "Verdict",
        "ops_db",
        "ops_metrics",
        "ops_platform",
        "ops_prometheus",
        "ops_settings",
        "ops_verdict",
        "pytest_addoption",
        "pytest_collection_finish",
        "pytest_configure",
        "pytest_report_teststatus",
        "pytest_runtest_makereport",
        "pytest_sessionfinish",
        "pytest_terminal_summary",
        "pytest_unconfigure",
    }


def test_registered_as_entry_point(pytestconfig: object) -> None:
    from importlib.metadata import entry_points

    (entry,) = [e for e in entry_points(group="pytest11") if e.name == "opslib"]
    assert entry.value == "opslib.pytest_plugin"
