"""Dependency fixtures: probed once per run; unreachable means one UNKNOWN line per check."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from opslib.adapters import Database, MetricsEndpoint, Platform, Prometheus
from opslib.lab._postgres import PostgresCluster
from tests.pytest_plugin.conftest import read_html
from tests.support import free_port

pytest_plugins = ["pytester"]

THREE_CHECKS = """
import pytest
from opslib.results import CheckResult, Measurement


def reached(sop):
    return CheckResult(sop, "dependency reached", (Measurement("reached", 1.0),))


@pytest.mark.sop("daily.health")
def test_one({fixture}, ops_verdict):
    ops_verdict(reached("daily.health"))


@pytest.mark.sop("daily.health")
def test_two({fixture}, ops_verdict):
    ops_verdict(reached("daily.health"))


@pytest.mark.sop("daily.performance")
def test_three({fixture}, ops_verdict):
    ops_verdict(reached("daily.performance"))
"""


def count_probes(
    monkeypatch: pytest.MonkeyPatch, cls: type[Any], method: str = "probe"
) -> list[str]:
    """Wrap ``cls.<method>`` (the real one still runs) and record each call."""
    calls: list[str] = []
    real: Callable[[Any], Any] = getattr(cls, method)

    def probe(self: Any) -> Any:
        calls.append(repr(self))
        return real(self)

    monkeypatch.setattr(cls, method, probe)
    return calls


@pytest.mark.parametrize(
    ("fixture", "variable", "value", "cls", "method", "expected"),
    [
        (
            "ops_db",
            "DATABASE_DSN",
            "postgresql://u:s3cretpw@127.0.0.1:{port}/x",
            Database,
            "probe",
            "UNKNOWN: postgresql unreachable: *127.0.0.1*{port}*",
        ),
        (
            "ops_prometheus",
            "PROMETHEUS_URL",
            "http://u:s3cretpw@127.0.0.1:{port}",
            Prometheus,
            "probe",
            "UNKNOWN: prometheus unreachable: *127.0.0.1:{port}*",
        ),
        (
            "ops_platform",
            "DOCKER_HOST",
            "tcp://127.0.0.1:{port}",
            Platform,
            "probe",
            "UNKNOWN: docker unreachable: *127.0.0.1:{port}*",
        ),
        (
            "ops_metrics",
            "METRICS_URLS",
            '["http://u:s3cretpw@127.0.0.1:{port}/metrics"]',
            MetricsEndpoint,
            "scrape",
            "UNKNOWN: metrics http://u:***@127.0.0.1:{port}/metrics unreachable: *",
        ),
    ],
    ids=["postgresql", "prometheus", "docker", "metrics"],
)
def test_unreachable_dependency_probed_once_and_unknown(
    checks: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    fixture: str,
    variable: str,
    value: str,
    cls: type[Any],
    method: str,
    expected: str,
) -> None:
    port = free_port()
    monkeypatch.setenv(f"OPSLIB_{variable}", value.format(port=port))
    probes = count_probes(monkeypatch, cls, method)
    checks.makepyfile(test_deps=THREE_CHECKS.format(fixture=fixture))
    started = time.monotonic()
    result = checks.runpytest("--html=out/r.html", "--junitxml=out/r.xml")
    elapsed = time.monotonic() - started
    assert len(probes) == 1
    assert result.ret == 1
    result.assert_outcomes(errors=3)
    lines = result.stdout.lines
    first = expected.format(port=port)
    assert len([ln for ln in lines if _match(ln, first)]) == 3
    text = result.stdout.str()
    assert "Traceback" not in text
    assert "def test_one" not in text
    result.stdout.fnmatch_lines(["opslib: 0 OK, 0 WARNING, 0 CRITICAL, 3 UNKNOWN"])
    summary = json.loads((checks.path / "out" / "r.json").read_text())
    assert [c["severity"] for c in summary["checks"]] == ["UNKNOWN"] * 3
    assert all(_match(c["message"], first) for c in summary["checks"])
    html = read_html(checks.path / "out" / "r.html")
    assert {row.text("severity") for row in html.rows.values()} == {"UNKNOWN"}
    outputs = [text, html.raw, (checks.path / "out" / "r.xml").read_text(), json.dumps(summary)]
    assert not [o for o in outputs if "s3cretpw" in o]
    assert elapsed < 15


def _match(line: str, pattern: str) -> bool:
    import fnmatch

    return fnmatch.fnmatch(line, pattern)


def test_missing_database_is_unknown_without_probe(
    checks: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    probes = count_probes(monkeypatch, Database)
    checks.makepyfile(test_deps=THREE_CHECKS.format(fixture="ops_db"))
    result = checks.runpytest()
    assert probes == []
    result.assert_outcomes(errors=3)
    # One failure line per test (the short summary repeats it, in full when CI is set).
    lines = result.stdout.lines
    assert sum(x.startswith("UNKNOWN: postgresql: no database configured") for x in lines) == 3


def test_reachable_database_probed_once(
    checks: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, pg_cluster: PostgresCluster
) -> None:
    monkeypatch.setenv("OPSLIB_DATABASE_DSN", pg_cluster.dsn)
    probes = count_probes(monkeypatch, Database)
    checks.makepyfile(
        test_db="""
import pytest
from opslib.errors import DataError
from opslib.results import CheckResult, Measurement


@pytest.mark.sop("daily.data_quality")
def test_query(ops_db, ops_verdict):
    row = ops_db.fetch_one("SELECT 42 AS answer")
    answer = Measurement("answer", row["answer"])
    ops_verdict(CheckResult("daily.data_quality", "answer", (answer,)))


@pytest.mark.sop("daily.data_quality")
def test_again(ops_db, ops_verdict):
    ops_verdict(CheckResult("daily.data_quality", "again", (Measurement("one", 1.0),)))


@pytest.mark.sop("daily.data_quality")
def test_careless_message(ops_db, ops_settings):
    # A domain bug that puts the DSN into an error: the password must still not show.
    raise DataError("cannot use " + ops_settings.database_dsn.get_secret_value())
"""
    )
    result = checks.runpytest("--html=out/r.html", "--junitxml=out/r.xml", "-rA")
    assert len(probes) == 1
    result.assert_outcomes(passed=2, failed=1)
    summary = json.loads((checks.path / "out" / "r.json").read_text())
    assert summary["counts"] == {"OK": 2, "WARNING": 0, "CRITICAL": 0, "UNKNOWN": 1}
    assert summary["checks"][0]["measurements"][0]["value"] == 42
    result.stdout.fnmatch_lines(["UNKNOWN: cannot use host=127.0.0.1 * password=*** *"])
    outputs = [
        result.stdout.str(),
        result.stderr.str(),
        (checks.path / "out" / "r.html").read_text(),
        (checks.path / "out" / "r.xml").read_text(),
        json.dumps(summary),
    ]
    assert not [o for o in outputs if pg_cluster.password in o]
