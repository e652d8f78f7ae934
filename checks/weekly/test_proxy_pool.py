"""weekly.proxy_pool: Weekly Operations 2 (test all proxies, update the list, distribution).

Run ``opslib proxies test`` first (runbook step "Test all proxies"): the leak check reads the
results it records.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opslib import proxies
from opslib.adapters import Database
from opslib.config import Settings
from opslib.pytest_plugin import Verdict

pytestmark = pytest.mark.sop("weekly.proxy_pool")


def _pool(db: Database, settings: Settings) -> proxies.ProxyPool:
    return proxies.ProxyPool(db, settings.proxies)


def test_healthy_proxies(ops_db: Database, ops_settings: Settings, ops_verdict: Verdict) -> None:
    """Healthy active proxies: count and share above their minimums."""
    pool = _pool(ops_db, ops_settings)
    ops_verdict(proxies.healthy_proxies(pool, ops_settings, datetime.now(UTC)))


def test_country_distribution(
    ops_db: Database, ops_settings: Settings, ops_verdict: Verdict
) -> None:
    """Every required country has its minimum of healthy proxies; no country above its share."""
    pool = _pool(ops_db, ops_settings)
    ops_verdict(proxies.country_distribution(pool, ops_settings, datetime.now(UTC)))


def test_ban_rate(ops_db: Database, ops_settings: Settings, ops_verdict: Verdict) -> None:
    """Per target domain: bans per request and the share of active proxies banned now."""
    ops_verdict(proxies.ban_rate(_pool(ops_db, ops_settings), ops_settings))


def test_pool_latency(ops_db: Database, ops_settings: Settings, ops_verdict: Verdict) -> None:
    """p95 latency of the active proxies under its threshold."""
    ops_verdict(proxies.pool_latency(_pool(ops_db, ops_settings), ops_settings))


def test_leaking_proxies(ops_db: Database, ops_settings: Settings, ops_verdict: Verdict) -> None:
    """No active proxy shows the client's IP to the target (last test run)."""
    ops_verdict(proxies.leaking_proxies(_pool(ops_db, ops_settings), ops_settings))
