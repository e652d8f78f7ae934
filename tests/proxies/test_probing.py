"""Choosing the proxies to test (from a real PostgreSQL) and one test run through real proxies
on 127.0.0.1."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from opslib.adapters import Database
from opslib.config import ProxySettings
from opslib.errors import ConfigError
from opslib.proxies import (
    ProbeResult,
    ProbeRun,
    ProxyPool,
    ProxyState,
    parse_proxy_url,
    proxies_to_test,
    run_probes,
)
from tests.proxies.servers import ProxyServers, serving


@pytest.fixture
def servers() -> Iterator[ProxyServers]:
    with serving() as started:
        yield started


def _pool(db: Database) -> ProxyPool:
    pool = ProxyPool(db)
    pool.upsert(parse_proxy_url(f"http://u{i}:pw-{i}@10.0.0.{i}:80") for i in range(1, 7))
    pool.set_state(["http://10.0.0.5:80"], ProxyState.RESERVE, "spare")
    pool.set_state(["http://10.0.0.6:80"], ProxyState.QUARANTINED, "failed")
    return pool


def test_chosen_by_state_with_credentials(platform_db: Database) -> None:
    pool = _pool(platform_db)
    chosen = proxies_to_test(pool)
    assert [p.url for p in chosen] == [f"http://10.0.0.{i}:80" for i in range(1, 6)]
    assert chosen[0].connect_url() == "http://u1:pw-1@10.0.0.1:80"
    active = proxies_to_test(pool, [ProxyState.ACTIVE])
    assert len(active) == 4


def test_a_sample_is_random_and_bounded(platform_db: Database) -> None:
    pool = _pool(platform_db)
    first = proxies_to_test(pool, [ProxyState.ACTIVE], sample=2, rng=random.Random(1))
    again = proxies_to_test(pool, [ProxyState.ACTIVE], sample=2, rng=random.Random(1))
    assert [p.url for p in first] == [p.url for p in again]
    assert len(first) == len({p.url for p in first}) == 2
    picks = {
        tuple(
            p.url
            for p in proxies_to_test(pool, [ProxyState.ACTIVE], sample=2, rng=random.Random(seed))
        )
        for seed in range(20)
    }
    assert len(picks) > 1
    assert len(proxies_to_test(pool, [ProxyState.ACTIVE], sample=50)) == 4


def test_a_run_reports_failing_and_leaking(servers: ProxyServers) -> None:
    proxies = [
        parse_proxy_url(f"127.0.0.1:{servers.http_proxy('ok')}"),
        parse_proxy_url(f"127.0.0.1:{servers.http_proxy('leaking')}"),
    ]
    settings = ProxySettings(judge_url=servers.judge_url, test_timeout=2, test_deadline=10)
    seen: list[str] = []
    run = run_probes(proxies, settings, progress=lambda r: seen.append(r.url))
    assert [r.status for r in run.results] == ["ok", "ok"]
    assert [r.url for r in run.failing] == [proxies[1].url]
    assert not run.all_failing
    assert run.summary == "2 tested, 1 failing or leaking"
    assert sorted(seen) == sorted(p.url for p in proxies)


def test_all_failing_and_empty_runs() -> None:
    failed = ProbeRun((ProbeResult("http://10.0.0.1:80", "failed", error="refused"),))
    assert failed.all_failing
    assert failed.summary == "1 tested, 1 failing or leaking"
    assert not ProbeRun(()).all_failing
    with pytest.raises(ConfigError, match="no judge URL"):
        run_probes([], ProxySettings())
