"""The opslib pytest plugin (``pytest11`` entry point ``opslib``).

Checks ask for session-scoped, lazily probed fixtures (``ops_settings``, ``ops_db``,
``ops_prometheus``, ``ops_metrics``, ``ops_platform``; ``ops_baseline``, the deploy gate's
baseline file, ``--ops-baseline``), mark themselves with
``@pytest.mark.sop("daily.health")`` and hand their :class:`~opslib.results.CheckResult` to
``ops_verdict``. The plugin turns verdicts into test outcomes (``--ops-fail-on``), adds SOP,
severity, measured-vs-threshold and remediation columns and inline SVG charts to pytest-html,
``sop``/``severity`` properties to JUnit XML, and writes a JSON summary (``--ops-summary``) and
Prometheus metrics, to a node_exporter textfile (``--ops-prometheus``) and to a Pushgateway
(``--ops-pushgateway``), and sends one alert listing the CRITICAL and UNKNOWN checks to the
notify channels (``--ops-notify``).
"""

from opslib.pytest_plugin._fixtures import (
    Verdict,
    ops_baseline,
    ops_db,
    ops_metrics,
    ops_platform,
    ops_prometheus,
    ops_settings,
    ops_verdict,
)
from opslib.pytest_plugin._hooks import (
    pytest_addoption,
    pytest_collection_finish,
    pytest_configure,
    pytest_report_teststatus,
    pytest_runtest_makereport,
    pytest_sessionfinish,
    pytest_terminal_summary,
    pytest_unconfigure,
)
from opslib.pytest_plugin._state import RESULT_KEY, CheckRecord

__all__ = [
    "RESULT_KEY",
    "CheckRecord",
    "Verdict",
    "ops_baseline",
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
]
