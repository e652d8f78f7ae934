"""Session-scoped, lazily created fixtures for settings and adapters, and ``ops_verdict``.

Each dependency fixture probes its dependency once: when the probe fails, pytest keeps the
error of the session fixture and raises it again for every check that asks, so the probe is
not repeated, and the report hook turns it into one UNKNOWN line.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pytest

from opslib.errors import ConfigError, DependencyError
from opslib.pytest_plugin._state import RESULT_KEY, VERDICT_FAILED_KEY, run_state
from opslib.redact import redact
from opslib.results import CheckResult

if TYPE_CHECKING:
    from opslib.adapters import Database, MetricsEndpoint, Platform, Prometheus
    from opslib.config import Settings

__all__ = [
    "Verdict",
    "ops_baseline",
    "ops_db",
    "ops_metrics",
    "ops_platform",
    "ops_prometheus",
    "ops_settings",
    "ops_verdict",
]


class Verdict(Protocol):
    """``ops_verdict``: record a check's result; fail the test when its severity fails the run."""

    def __call__(self, result: CheckResult) -> None: ...


@pytest.fixture(scope="session")
def ops_settings(
    pytestconfig: pytest.Config, record_testsuite_property: Callable[[str, object], None]
) -> Settings:
    """The opslib settings (``--ops-config``, else ``$OPSLIB_CONFIG``, else ``./opslib.toml``).

    Bad configuration ends the whole run with exit status 2 and one line per bad field.
    """
    from opslib.config import load_settings

    state = run_state(pytestconfig)
    try:
        settings = load_settings(state.config_file)
    except ConfigError as exc:
        # The terminal summary lists the problems, one line each; the exit line points there.
        state.config_error = state.clean(str(exc))
        state.config_problems = tuple(state.clean(p) for p in exc.problems)
        count = len(exc.problems)
        pytest.exit(
            state.clean(f"opslib: {exc} ({count} problem{'s' * (count != 1)} listed above)"),
            returncode=exc.exit_code,
        )
    state.secrets.extend(settings.secrets())
    from opslib.connect import describe_platform

    state.platform = state.clean(describe_platform(settings))
    record_testsuite_property("opslib_platform", state.platform)
    return settings


@pytest.fixture(scope="session")
def ops_baseline(pytestconfig: pytest.Config) -> Path:
    """The deploy gate's baseline file: ``--ops-baseline``, else ``baseline.json`` beside the
    ``--html`` report, else ``reports/baseline.json`` (relative to the working directory)."""
    explicit = pytestconfig.getoption("ops_baseline", None)
    html = pytestconfig.getoption("htmlpath", None)
    if explicit:
        path = Path(os.path.expandvars(explicit)).expanduser()
    elif html:
        path = Path(os.path.expandvars(str(html))).expanduser().parent / "baseline.json"
    else:
        path = Path("reports") / "baseline.json"
    return Path.cwd() / path


@pytest.fixture(scope="session")
def ops_db(ops_settings: Settings) -> Iterator[Database]:
    """The platform database, probed once; UNKNOWN for its checks when unreachable or unset."""
    from opslib.connect import open_database

    with open_database(ops_settings) as database:
        database.probe()
        yield database


@pytest.fixture(scope="session")
def ops_prometheus(ops_settings: Settings) -> Iterator[Prometheus]:
    """The Prometheus server, probed once."""
    from opslib.connect import open_prometheus

    with open_prometheus(ops_settings) as prometheus:
        _probe(prometheus.probe, ops_settings.prometheus_url)
        yield prometheus


@pytest.fixture(scope="session")
def ops_metrics(ops_settings: Settings) -> list[MetricsEndpoint]:
    """One endpoint per ``metrics_urls``, each probed once; any unreachable one fails them all."""
    from opslib.connect import open_metrics

    endpoints = open_metrics(ops_settings)
    for endpoint, url in zip(endpoints, ops_settings.metrics_urls, strict=True):
        # MetricsEndpoint has no probe(): one scrape shows it answers with metrics.
        _probe(endpoint.scrape, url)
    return endpoints


@pytest.fixture(scope="session")
def ops_platform(ops_settings: Settings) -> Iterator[Platform]:
    """The compose project on the Docker engine, probed once."""
    from opslib.connect import open_platform

    with open_platform(ops_settings) as platform:
        _probe(platform.probe, ops_settings.docker_host or "the default Docker engine")
        yield platform


def _probe(probe: Callable[[], object], target: str) -> None:
    """Run ``probe``; a failure that does not say what it tried to reach gets ``target`` added."""
    try:
        probe()
    except DependencyError as exc:
        shown = redact(target)
        if shown in exc.reason:
            raise
        raise type(exc)(exc.dependency, f"{shown}: {exc.reason}") from exc


@pytest.fixture
def ops_verdict(request: pytest.FixtureRequest) -> Verdict:
    """Call with the check's :class:`CheckResult`; fails the test when its severity fails the run.

    CRITICAL and UNKNOWN always fail; WARNING only with ``--ops-fail-on=warning`` (and is shown
    as WARNING in every report either way).
    """
    item = request.node
    state = run_state(request.config)

    def verdict(result: CheckResult) -> None:
        __tracebackhide__ = True
        item.stash[RESULT_KEY] = result
        if state.fails(result.severity):
            item.stash[VERDICT_FAILED_KEY] = True
            pytest.fail(state.clean(result.message()), pytrace=False)

    return verdict
