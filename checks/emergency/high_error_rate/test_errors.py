"""emergency.high_error_rate: High Error Rate Response, immediate actions.

Which domains err and most likely why (the errors counter's reason label), and a random sample
of the proxy pool tested now; every red check names the runbook's action as a command.
"""

from __future__ import annotations

import pytest

from opslib import health, proxies
from opslib.adapters import Database, Prometheus
from opslib.config import Settings
from opslib.pytest_plugin import Verdict

pytestmark = pytest.mark.sop("emergency.high_error_rate")


def test_error_rate_by_domain(
    ops_prometheus: Prometheus, ops_settings: Settings, ops_verdict: Verdict
) -> None:
    """Each domain's error share over the threshold, with its likely cause and action."""
    ops_verdict(health.error_causes(ops_prometheus, ops_settings))


def test_proxy_health_sample(
    ops_db: Database, ops_settings: Settings, ops_verdict: Verdict
) -> None:
    """A random sample of active proxies tested now (runbook: check_proxy_health.py)."""
    pool = proxies.ProxyPool(ops_db, ops_settings.proxies)
    ops_verdict(proxies.sample_health(pool, ops_settings))
