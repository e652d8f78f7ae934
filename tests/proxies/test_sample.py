"""The emergency's proxy check: a random sample of active proxies tested now, through real
proxies on 127.0.0.1, against a real pool."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from opslib.config import ProxySettings, Settings
from opslib.proxies import ProxyPool, ProxyState, parse_proxy_url, sample_health
from opslib.results import Severity
from tests.dbkit import TestDatabase
from tests.proxies.servers import ProxyServers, serving
from tests.support import free_port


@pytest.fixture
def servers() -> Iterator[ProxyServers]:
    with serving() as started:
        yield started


def _settings(servers: ProxyServers, sample: int = 10) -> Settings:
    proxies = ProxySettings(judge_url=servers.judge_url, health_sample=sample, test_timeout=2)
    return Settings(proxies=proxies)


def test_healthy_sample_is_ok(platform_db: TestDatabase, servers: ProxyServers) -> None:
    settings = _settings(servers)
    pool = ProxyPool(platform_db, settings.proxies)
    pool.upsert(parse_proxy_url(f"127.0.0.1:{servers.http_proxy('ok')}") for _ in range(3))
    result = sample_health(pool, settings)
    assert result.severity is Severity.OK, result.message()
    assert "0 of 3 failing" in result.measurements[0].note


def test_dead_proxies_turn_it_red_and_name_the_rotation(
    platform_db: TestDatabase, servers: ProxyServers
) -> None:
    settings = _settings(servers, sample=4)
    pool = ProxyPool(platform_db, settings.proxies)
    dead = [parse_proxy_url(f"127.0.0.1:{free_port()}") for _ in range(3)]  # nothing listens
    pool.upsert([*dead, parse_proxy_url(f"127.0.0.1:{servers.http_proxy('ok')}")])
    pool.set_state([dead[0].url], ProxyState.RESERVE, "spare")  # not sampled: not active
    result = sample_health(pool, settings, rng=random.Random(3))
    assert result.severity is Severity.CRITICAL, result.message()
    assert "2 of 3 failing" in result.measurements[0].note
    assert "opslib proxies rotate" in result.message()
    assert len(result.tables[0].rows) == 3


def test_empty_pool_is_critical_and_no_judge_is_unknown(
    platform_db: TestDatabase, servers: ProxyServers
) -> None:
    settings = _settings(servers)
    assert sample_health(ProxyPool(platform_db), settings).severity is Severity.CRITICAL
    pool = ProxyPool(platform_db)
    pool.upsert([parse_proxy_url("127.0.0.1:3128")])
    unknown = sample_health(pool, Settings())
    assert unknown.severity is Severity.UNKNOWN
    assert "judge" in unknown.error
