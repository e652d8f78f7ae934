"""emergency.high_error_rate: the scrapers' error patterns (runbook: `docker-compose logs
scraper | grep ERROR | sort | uniq -c`) and the availability of the sites that err (runbook:
verify_sites.py), each naming the likely cause and the command that acts on it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opslib import health, logs, sites
from opslib.adapters import Database, Prometheus
from opslib.config import Settings
from opslib.pytest_plugin import Verdict

pytestmark = pytest.mark.sop("emergency.high_error_rate")


def test_error_patterns(
    request: pytest.FixtureRequest, ops_settings: Settings, ops_verdict: Verdict
) -> None:
    """The top error patterns of the scrapers' logs over error_window, and any not seen in
    the window before (or in the stored baseline, logs.baseline_file)."""
    since = datetime.now(UTC) - 2 * ops_settings.error_window_span
    # Container logs need the Docker engine; log files (logs.files) do not.
    platform = None if ops_settings.logs.files else request.getfixturevalue("ops_platform")
    lines = logs.recent_log_lines(ops_settings, platform, since)
    ops_verdict(logs.error_patterns(lines, ops_settings, what=ops_settings.scraper_service))


def test_sites_that_err(
    ops_prometheus: Prometheus, ops_db: Database, ops_settings: Settings, ops_verdict: Verdict
) -> None:
    """Each erring domain verified directly and through a sample of pool proxies: up, down,
    slow, blocking us, rate-limiting us, our proxies failing."""
    causes = health.error_causes(ops_prometheus, ops_settings)
    erring = [m.subject for m in causes.problems if m.subject]
    ops_verdict(sites.sites_that_err(erring, ops_db, ops_settings))
