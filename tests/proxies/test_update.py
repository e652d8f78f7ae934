"""plan_import / apply_import against a real PostgreSQL: what a plan says, what applying writes,
and that additions and retirements land together or not at all."""

from __future__ import annotations

import pytest
from psycopg.conninfo import make_conninfo

from opslib.adapters import Database
from opslib.errors import OpsError
from opslib.lab._postgres import PostgresCluster
from opslib.proxies import (
    ImportOutcome,
    ImportResult,
    ProxyPool,
    ProxyState,
    apply_import,
    parse_proxy_lines,
    plan_import,
)


def _list(source: str, *lines: str) -> ImportResult:
    return parse_proxy_lines([line.encode() for line in lines], source)


def _states(pool: ProxyPool) -> dict[str, str]:
    return {p.url: p.state.value for p in pool.proxies()}


def test_plan_compares_lists_with_the_pool(platform_db: Database) -> None:
    pool = ProxyPool(platform_db)
    apply_import(pool, plan_import(pool, [_list("a.txt", "10.0.0.1:80", "10.0.0.2:80")]))
    apply_import(pool, plan_import(pool, [_list("b.txt", "10.0.0.9:80")]))
    pool.set_state(["http://10.0.0.2:80"], ProxyState.RETIRED, "gone earlier")
    before = _states(pool)

    plan = plan_import(
        pool,
        [_list("a.txt", "10.0.0.1:80", "10.0.0.3:80", "10.0.0.3:80,de", "ftp://10.0.0.4:21")],
        ProxyState.RESERVE,
    )

    assert plan.added == ("http://10.0.0.3:80",)
    assert plan.unchanged == ("http://10.0.0.1:80",)
    assert plan.removed == ()  # .2 is retired already; b.txt's .9 is another source's
    assert (plan.duplicates, plan.bad_lines) == (1, 1)
    assert [str(p) for p in plan.problems] == [
        "a.txt:4: unknown scheme 'ftp' (use http, https, socks5)"
    ]
    assert plan.state is ProxyState.RESERVE
    assert _states(pool) == before  # planning writes nothing


def test_apply_adds_refreshes_and_retires(platform_db: Database) -> None:
    pool = ProxyPool(platform_db)
    first = plan_import(pool, [_list("a.txt", "10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80")])
    assert apply_import(pool, first) == ImportOutcome(added=3, retired=0, unchanged=0)
    pool.set_state(["http://10.0.0.1:80"], ProxyState.QUARANTINED, "failed a test")

    second = plan_import(
        pool, [_list("a.txt", "http://u:pw-secret@10.0.0.1:80,fr", "10.0.0.4:80")],
        ProxyState.RESERVE,
    )  # fmt: skip
    assert (second.added, second.removed) == (
        ("http://10.0.0.4:80",), ("http://10.0.0.2:80", "http://10.0.0.3:80"),
    )  # fmt: skip
    assert apply_import(pool, second) == ImportOutcome(added=1, retired=2, unchanged=1)

    by_url = {p.url: p for p in pool.proxies()}
    assert {url: p.state.value for url, p in by_url.items()} == {
        "http://10.0.0.1:80": "quarantined",  # listed again: keeps its state
        "http://10.0.0.2:80": "retired",
        "http://10.0.0.3:80": "retired",
        "http://10.0.0.4:80": "reserve",  # new ones join in the plan's state
    }
    assert (by_url["http://10.0.0.1:80"].country, by_url["http://10.0.0.1:80"].has_credentials) == (
        "fr", True,
    )  # fmt: skip
    events = platform_db.fetch_all(
        "SELECT p.url, e.detail FROM opslib.proxy_events e JOIN opslib.proxies p"
        " ON p.id = e.proxy_id WHERE e.kind = 'retired' ORDER BY p.url"
    )
    assert [e["detail"] for e in events] == ["no longer listed by its source"] * 2
    again = plan_import(pool, [_list("a.txt", "10.0.0.1:80", "10.0.0.4:80")])
    assert (again.added, again.removed) == ((), ())


def test_a_failed_apply_adds_nothing(platform_db: Database, pg_cluster: PostgresCluster) -> None:
    pool = ProxyPool(platform_db)
    apply_import(pool, plan_import(pool, [_list("a.txt", "10.0.0.1:80", "10.0.0.2:80")]))
    plan = plan_import(pool, [_list("a.txt", "10.0.0.1:80", "10.0.0.5:80", "10.0.0.6:80")])
    assert (len(plan.added), plan.removed) == (2, ("http://10.0.0.2:80",))
    name = platform_db.fetch_one("SELECT current_database() AS name")
    assert name is not None
    # Another session holds the row the retirement must change: the additions are written
    # first, then the retirement gives up waiting, and the whole update must roll back.
    other = Database(make_conninfo(pg_cluster.dsn, dbname=name["name"]))
    with other, other.transaction():
        other.execute("SELECT 1 FROM opslib.proxies WHERE url = 'http://10.0.0.2:80' FOR UPDATE")
        platform_db.execute("SET lock_timeout = '300ms'")
        try:
            with pytest.raises(OpsError, match="lock"):
                apply_import(pool, plan)
        finally:
            platform_db.execute("RESET lock_timeout")
    assert _states(pool) == {"http://10.0.0.1:80": "active", "http://10.0.0.2:80": "active"}
    assert apply_import(pool, plan) == ImportOutcome(
        added=2, retired=1, unchanged=1
    )  # goes through


def test_a_stale_plan_is_made_again_when_applied(platform_db: Database) -> None:
    """Two updates of one source planned before either wrote (the lost-update race, in one
    process): the second applies against what the first left, as if run after it."""
    pool = ProxyPool(platform_db)
    one = plan_import(pool, [_list("list.txt", "10.0.0.1:80", "10.0.0.2:80")])
    two = plan_import(pool, [_list("list.txt", "10.0.0.2:80", "10.0.0.3:80")])
    assert two.removed == ()  # planned on an empty pool
    assert apply_import(pool, one) == ImportOutcome(added=2, retired=0, unchanged=0)
    assert apply_import(pool, two) == ImportOutcome(added=1, retired=1, unchanged=1)
    assert _states(pool) == {
        "http://10.0.0.1:80": "retired",
        "http://10.0.0.2:80": "active",
        "http://10.0.0.3:80": "active",
    }


def test_upsert_takes_the_later_of_a_url_given_twice(platform_db: Database) -> None:
    pool = ProxyPool(platform_db)
    first, second = _list("a.txt", "10.0.0.1:80,de"), _list("b.txt", "10.0.0.1:80,fr")
    assert pool.upsert([*first.proxies.values(), *second.proxies.values()]) == 1
    (proxy,) = pool.proxies()
    assert (proxy.country, proxy.source) == ("fr", "b.txt")
