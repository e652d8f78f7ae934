"""ProxyPool against a real PostgreSQL: eligibility, health, bans, backoff, several processes."""

from __future__ import annotations

import multiprocessing
from collections import Counter

import pytest

from opslib.config import ProxySettings
from opslib.errors import DataError, NoProxyAvailable
from opslib.proxies import (
    DomainPolicy,
    Outcome,
    ProbeResult,
    ProxyPool,
    ProxyState,
    parse_proxy_url,
)
from tests.dbkit import TestDatabase
from tests.proxies._hammer import hammer

SHOP = "alpha-shop.test"


def _pool(db: TestDatabase, n: int = 3, **settings: float) -> ProxyPool:
    pool = ProxyPool(db, ProxySettings(**settings))
    countries = ["de", "fr", "us", "de", "fr", "us"]
    pool.upsert(
        parse_proxy_url(f"http://u{i}:pw-{i}-secret@127.0.0.{i + 1}:3128", country=countries[i])
        for i in range(n)
    )
    return pool


def test_empty_pool_says_so(platform_db: TestDatabase) -> None:
    with pytest.raises(NoProxyAvailable, match="pool is empty"):
        ProxyPool(platform_db).acquire(SHOP)


def test_acquire_spreads_and_respects_country(platform_db: TestDatabase) -> None:
    pool = _pool(platform_db, 6)
    seen: Counter[str] = Counter()
    for _ in range(60):
        lease = pool.acquire(SHOP)
        seen[lease.url] += 1
        pool.report(lease, Outcome("success", 20))
    assert len(seen) == 6
    assert max(seen.values()) < 30
    lease = pool.acquire(SHOP, country="FR")
    assert lease.country == "fr"
    assert "pw-" not in repr(lease)
    assert "pw-" in lease.connect_url()
    with pytest.raises(NoProxyAvailable, match="no active proxy in country jp"):
        pool.acquire(SHOP, country="jp")


def test_ban_is_per_domain_and_all_banned_is_typed(platform_db: TestDatabase) -> None:
    pool = _pool(platform_db, 2)
    for _ in range(2):
        lease = pool.acquire(SHOP)
        pool.report(lease, lease.outcome(403, 30, b"Forbidden"))
    with pytest.raises(NoProxyAvailable, match="all 2 active proxies are banned") as banned:
        pool.acquire(SHOP)
    assert banned.value.banned  # the site blocks the pool: a scraper labels it so
    assert pool.acquire("bravo-shop.test").domain == "bravo-shop.test"
    assert pool.ban_rates(1)[SHOP] == (2, 2)
    kinds = {e["kind"] for e in pool.history()}
    assert "banned" in kinds
    assert all(SHOP in p.banned_for for p in pool.proxies())


def test_ban_classification_follows_the_domain_policy(platform_db: TestDatabase) -> None:
    pool = _pool(platform_db, 1)
    pool.set_policy(DomainPolicy("strict.test", ban_statuses=(503,), ban_patterns=("slow down",)))
    lease = pool.acquire("strict.test")
    assert lease.outcome(403, 1).kind == "success"
    assert lease.outcome(503, 1).kind == "ban"
    assert lease.outcome(200, 1, b"<h1>Please SLOW DOWN</h1>").kind == "ban"
    assert lease.outcome(None, 1, error="refused").kind == "failure"
    default = pool.acquire(SHOP)
    assert default.outcome(200, 1, b"solve this CAPTCHA").kind == "ban"
    with pytest.raises(DataError):
        Outcome("meh")


def test_failures_back_off_with_growing_randomised_delay(platform_db: TestDatabase) -> None:
    pool = _pool(platform_db, 1, failures_to_backoff=2, backoff_base=100, backoff_max=10_000)
    lease = pool.acquire(SHOP)
    pool.report(lease, Outcome("failure", reason="refused"))
    assert pool.acquire(SHOP).proxy_id == lease.proxy_id  # one failure: still eligible
    pool.report(lease, Outcome("failure"))
    with pytest.raises(NoProxyAvailable, match="backing off") as failing:
        pool.acquire(SHOP)
    assert not failing.value.banned
    [proxy] = pool.proxies()
    assert proxy.backoff_until is not None
    delays = []
    for _ in range(3):
        platform_db.execute("UPDATE opslib.proxies SET backoff_until = now() - interval '1 s'")
        lease = pool.acquire(SHOP)  # the re-check after backoff
        pool.report(lease, Outcome("failure"))
        row = platform_db.fetch_one(
            "SELECT extract(epoch FROM backoff_until - now()) AS s FROM opslib.proxies"
        )
        assert row is not None
        delays.append(float(row["s"]))
    # 100 * 2^k * [0.5, 1.5): each window is disjoint from the one two steps later
    assert 100 <= delays[0] <= 300
    assert 400 <= delays[2] <= 1200
    platform_db.execute("UPDATE opslib.proxies SET backoff_until = now() - interval '1 s'")
    lease = pool.acquire(SHOP)
    pool.report(lease, Outcome("success", 40))
    [proxy] = pool.proxies()
    assert proxy.backoff_until is None
    assert proxy.consecutive_failures == 0
    assert any(e["kind"] == "backoff" for e in pool.history())


def test_test_results_are_recorded_and_a_pass_ends_a_backoff(platform_db: TestDatabase) -> None:
    pool = _pool(platform_db, 3, failures_to_backoff=1, backoff_base=600)
    urls = sorted(p.url for p in pool.proxies())
    lease = pool.acquire(SHOP, country="de")
    pool.report(lease, Outcome("failure", reason="black hole"))
    assert lease.url == urls[0]
    pool.record_probes(
        [
            ProbeResult(urls[0], "ok", 12.0, 200, "198.51.100.1", False),
            ProbeResult(urls[1], "timeout", error="no answer within 5 s"),
            ProbeResult(urls[2], "ok", 15.0, 200, "198.51.100.3", True),
        ]
    )
    state = {p.url: p for p in pool.proxies()}
    assert state[urls[0]].backoff_until is None
    assert state[urls[0]].consecutive_failures == 0
    assert pool.acquire(SHOP, country="de").url == urls[0]
    rows = {
        r["url"]: r
        for r in platform_db.fetch_all("SELECT url, check_ok, exit_ip, leaks FROM opslib.proxies")
    }
    assert (rows[urls[0]]["check_ok"], rows[urls[0]]["exit_ip"]) == (True, "198.51.100.1")
    assert rows[urls[1]]["check_ok"] is False
    assert rows[urls[1]]["exit_ip"] is None
    assert rows[urls[2]]["leaks"] is True
    events = {(e["url"], e["kind"]): e["detail"] for e in pool.history()}
    assert events[(urls[0], "recovered")] == "passed a test during its backoff"
    assert events[(urls[1], "test_failed")] == "no answer within 5 s"
    assert events[(urls[2], "leaking")] == "client IP visible to the target"
    assert (urls[0], "test_failed") not in events


def test_health_decays_towards_neutral(platform_db: TestDatabase) -> None:
    pool = _pool(platform_db, 1, failures_to_backoff=100, decay_seconds=60)
    for _ in range(20):
        pool.report(pool.acquire(SHOP), Outcome("failure"))
    [fresh] = pool.proxies()
    assert fresh.success_rate < 0.1
    platform_db.execute("UPDATE opslib.proxies SET decayed_at = decayed_at - interval '10 min'")
    pool.report(pool.acquire(SHOP), Outcome("success", 10))
    [later] = pool.proxies()
    assert later.success_rate > 0.6  # 20 failures 10 min ago weigh 20 * e^-10 now


def test_concurrency_limit_and_release(platform_db: TestDatabase) -> None:
    pool = _pool(platform_db, 1)
    pool.set_policy(DomainPolicy(SHOP, max_concurrency=2))
    first, second = pool.acquire(SHOP), pool.acquire(SHOP)
    with pytest.raises(NoProxyAvailable, match="concurrency limit"):
        pool.acquire(SHOP)
    pool.report(first, Outcome("success", 5))
    third = pool.acquire(SHOP)
    pool.report(second, Outcome("success", 5))
    pool.report(third, Outcome("success", 5))
    assert [p.in_use for p in pool.proxies()] == [0]


def test_sticky_sessions_keep_their_proxy(platform_db: TestDatabase) -> None:
    pool = _pool(platform_db, 6)
    pool.set_policy(DomainPolicy(SHOP, sticky=True))
    chosen = set()
    for _ in range(5):
        lease = pool.acquire(SHOP, session="cart-42")
        chosen.add(lease.url)
        pool.report(lease, Outcome("success", 5))
    assert len(chosen) == 1
    sessions = {pool.acquire(SHOP, session=f"s{i}").url for i in range(12)}
    assert len(sessions) > 1


def test_states_and_history(platform_db: TestDatabase) -> None:
    pool = _pool(platform_db, 2)
    urls = [p.url for p in pool.proxies()]
    assert pool.set_state(urls[:1], ProxyState.QUARANTINED, "test") == 1
    assert pool.set_state(urls[:1], ProxyState.QUARANTINED, "again") == 0
    assert {pool.acquire(SHOP).url for _ in range(5)} == {urls[1]}
    assert pool.history(urls[0])[0]["kind"] == "quarantined"
    assert pool.upsert([parse_proxy_url(urls[0])]) == 0  # known: no duplicate
    assert len(pool.proxies()) == 2


def test_four_processes_lose_no_update(platform_db: TestDatabase) -> None:
    pool = _pool(platform_db, 3)
    cycles = 150
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as workers:
        results = workers.starmap(hammer, [(platform_db.dsn, SHOP, cycles)] * 4)
    granted = sum(r[0] for r in results)
    assert granted + sum(r[1] for r in results) == 4 * cycles
    assert granted >= 4 * cycles * 0.9
    row = platform_db.fetch_one(
        "SELECT sum(requests) AS requests, sum(in_use) AS in_use FROM opslib.proxies"
    )
    usage = platform_db.fetch_one(
        "SELECT sum(requests) AS n, sum(failures) AS f FROM opslib.proxy_usage"
    )
    assert row is not None
    assert usage is not None
    assert row["requests"] == granted
    assert row["in_use"] == 0
    assert usage["n"] == granted
    assert sum(p.requests for p in pool.proxies()) == granted


def test_concurrency_limit_holds_across_processes(platform_db: TestDatabase) -> None:
    pool = _pool(platform_db, 1)
    pool.set_policy(DomainPolicy(SHOP, max_concurrency=2))
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as workers:
        results = workers.starmap(hammer, [(platform_db.dsn, SHOP, 10, 0.05)] * 4)
    assert sum(r[1] for r in results) > 0  # some were refused: never more than 2 at once
    [proxy] = pool.proxies()
    assert proxy.in_use == 0
    assert proxy.requests == sum(r[0] for r in results)


def test_leases_lost_by_a_crashed_client_expire(platform_db: TestDatabase) -> None:
    pool = _pool(platform_db, 1, lease_seconds=60)
    pool.set_policy(DomainPolicy(SHOP, max_concurrency=1))
    pool.acquire(SHOP)  # never reported: the client "crashed"
    with pytest.raises(NoProxyAvailable):
        pool.acquire(SHOP)
    platform_db.execute("UPDATE opslib.proxies SET last_used_at = now() - interval '61 s'")
    lease = pool.acquire(SHOP)
    pool.report(lease, Outcome("success", 5))
    assert [p.in_use for p in pool.proxies()] == [0]
