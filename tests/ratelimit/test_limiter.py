"""RateLimiter against a real database: batches, the window bound, Retry-After, concurrency
leases, the default limit, set/plan."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from opslib.config import RateLimitSettings
from opslib.errors import InputError
from opslib.ratelimit import RateLimiter, RateLimitTimeout
from tests.dbkit import TestDatabase

Make = Callable[..., RateLimiter]


@pytest.fixture
def make(platform_db: TestDatabase) -> Iterator[Make]:
    """RateLimiters on connections of their own (closed after the test)."""
    made: list[RateLimiter] = []

    def build(**settings: float) -> RateLimiter:
        limiter = RateLimiter(platform_db.open(), RateLimitSettings(**settings))
        made.append(limiter)
        return limiter

    yield build
    for limiter in made:
        limiter.database.close()


def test_a_domain_without_a_limit_gets_the_default(make: Make) -> None:
    limiter = make(default_rate=50, default_burst=5)
    assert limiter.limit("Alpha.test").describe() == "50/s, burst 5 (default)"
    began = time.monotonic()
    for _ in range(30):
        limiter.acquire("alpha.test", timeout=5)
    took = time.monotonic() - began
    # 5 at once, then 25 more at 50/s: about 0.5 s (never less than the rate allows).
    assert 0.45 <= took < 3.0
    [row] = limiter.limits()
    assert (row.domain, row.configured) == ("alpha.test", False)


def test_batches_spare_round_trips(make: Make) -> None:
    limiter = make(default_rate=100_000, default_burst=10_000)
    for _ in range(5000):
        limiter.acquire("fast.test")
    assert limiter.reservations < 200


def test_try_acquire_does_not_wait(make: Make) -> None:
    limiter = make(default_rate=1, default_burst=2)
    assert limiter.try_acquire("slow.test") is not None
    assert limiter.try_acquire("slow.test") is not None
    began = time.monotonic()
    assert limiter.try_acquire("slow.test") is None
    assert time.monotonic() - began < 0.5


def test_acquire_gives_up_at_once_when_the_next_permit_is_too_far(
    make: Make,
) -> None:
    limiter = make(default_rate=0.1, default_burst=1)
    limiter.acquire("slow.test")
    limiter.acquire("slow.test", timeout=2)  # the first was good for hold_seconds (1 s)
    began = time.monotonic()
    with pytest.raises(RateLimitTimeout, match=r"no permit for slow\.test") as caught:
        limiter.acquire("slow.test", timeout=1)
    assert time.monotonic() - began < 0.5
    assert caught.value.retry_in is not None
    assert caught.value.retry_in > 5


def test_retry_after_holds_every_limiter(make: Make) -> None:
    first = make(default_rate=100, default_burst=10)
    second = make(default_rate=100, default_burst=10)
    first.acquire("shop.test")
    second.acquire("shop.test")
    until = first.retry_after("shop.test", 1.5, "HTTP 429")
    assert until is not None
    for limiter in (first, second):
        with pytest.raises(RateLimitTimeout):
            limiter.acquire("shop.test", timeout=0.5)
    began = time.monotonic()
    second.acquire("shop.test", timeout=5)
    assert 0.3 < time.monotonic() - began < 2.5
    [row] = first.limits()
    assert row.blocked_reason == "HTTP 429"


def test_concurrency_leases(make: Make) -> None:
    limiter = make(default_rate=1000, default_burst=100)
    limiter.set_limit("busy.test", rate=1000, burst=100, concurrency=2, actor="t")
    other = make(default_rate=1000, default_burst=100)
    a = limiter.acquire("busy.test")
    b = other.acquire("busy.test")
    assert a.lease
    assert b.lease
    with pytest.raises(RateLimitTimeout, match="2 request\\(s\\) already in flight"):
        other.acquire("busy.test", timeout=0.3)
    assert limiter.limit("busy.test").in_flight == 2
    a.release()
    with other.acquire("busy.test", timeout=2) as c:
        assert c.lease
    b.release()
    assert limiter.limit("busy.test").in_flight == 0


def test_expired_leases_of_a_dead_holder_are_reclaimed(make: Make) -> None:
    dead = make(default_rate=1000, default_burst=100, lease_seconds=0.5)
    dead.set_limit("busy.test", rate=1000, burst=100, concurrency=1, actor="t")
    dead.acquire("busy.test")  # never released
    alive = make(default_rate=1000, default_burst=100)
    assert alive.acquire("busy.test", timeout=3).lease


def test_plan_and_set(make: Make) -> None:
    limiter = make(default_rate=5, default_burst=10)
    plan = limiter.plan_set("alpha.test", rate=2)
    assert plan.describe() == "alpha.test: 5/s, burst 10 (default) -> 2/s, burst 2"
    assert limiter.limits() == []  # planning changes nothing
    limiter.set_limit("alpha.test", rate=2, actor="carol")
    again = limiter.set_limit("alpha.test", rate=2, burst=2)
    assert not again.changes
    changed = limiter.set_limit("alpha.test", burst=4, concurrency=3)
    assert changed.describe() == "alpha.test: 2/s, burst 2 -> 2/s, burst 4, concurrency 3"
    for bad in ({"rate": 0}, {"rate": -1.0}, {"burst": -1}, {"burst": 0}, {"concurrency": 0}):
        with pytest.raises(InputError):
            limiter.set_limit("alpha.test", **bad)
    assert limiter.limit("alpha.test").describe() == "2/s, burst 4, concurrency 3"
