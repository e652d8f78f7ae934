"""Per-domain rate limits that every scraper process on every host obeys together.

The state of a domain's limit is one row of ``opslib.rate_limits``, and the algorithm is GCRA
(the generic cell rate algorithm: a token bucket kept as one timestamp). ``tat``, the
theoretical arrival time, is where the limit's schedule stands; a permit whose arrival time
``TAT`` satisfies ``TAT - burst / rate <= now`` may be used. A process does not ask for
each permit: one ``UPDATE ... RETURNING`` reserves a batch of ``n`` permits (sized to its own
demand) by advancing ``tat`` by ``n / rate``, and the process hands them out from memory.

Why the limit holds across processes: each reserved permit ``j`` has its own arrival time
``TAT_j`` (spaced ``1 / rate`` apart across all reservations) and is valid only while the local
clock is before ``TAT_j`` (mapped from the database's clock to the process's monotonic clock
conservatively: from the moment the request was *sent*). A permit used at ``u`` thus has
``u < TAT_j <= u + burst / rate``, so the permits used in any window of ``W`` seconds have
arrival times in an interval of ``W + burst / rate`` seconds: at most ``rate * W + burst``. A
permit not used in time lapses (it is never handed out late, when it could add to a burst).
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, LiteralString

from opslib.adapters import Database
from opslib.audit import current_actor
from opslib.config import RateLimitSettings
from opslib.errors import InputError
from opslib.ratelimit._model import RateLimit, RateLimitTimeout, check_domain

__all__ = ["MAX_RETRY_AFTER", "Permit", "RateLimitPlan", "RateLimiter"]

_log = logging.getLogger(__name__)

MAX_RETRY_AFTER = 3600.0
"""The longest Retry-After honoured, in seconds (a longer one is cut to this; use a cooldown)."""
_MIN_WAIT = 0.001
_LEASE_POLL = (0.05, 0.5)

# One round trip reserves up to %(want)s permits. `cur` locks the row (a concurrent
# reservation waits and then sees the row this one wrote); the clock is read before the lock,
# which only makes the grant smaller and the permits' lifetimes shorter. Granted permits have
# arrival times tat1, tat1 + t, ... . When the schedule is idle (tat far behind now), tat1 is
# pushed ahead so that a permit reserved now stays valid long enough to be used: by up to hold
# seconds, and at most half the room left in the bucket (a busy schedule is never pushed, so
# no capacity is lost while replicas compete).
_RESERVE: LiteralString = """
WITH clock AS (SELECT extract(epoch FROM clock_timestamp())::float8 AS now),
cur AS (
    SELECT r.domain, coalesce(r.rate, %(rate)s) AS rate, coalesce(r.burst, %(burst)s) AS burst,
           r.concurrency, r.tat, clock.now
    FROM opslib.rate_limits r, clock WHERE r.domain = %(domain)s FOR UPDATE OF r
), calc AS (
    SELECT cur.*, 1 / cur.rate AS t,
           greatest(least(%(want)s::int,
                          floor(cur.burst - greatest(cur.tat - cur.now, 0) * cur.rate + 1e-9)),
                    0)::int AS n
    FROM cur
), plan AS (
    SELECT calc.*,
           CASE WHEN calc.n > 0 THEN greatest(calc.tat + calc.t, calc.now + least(
               %(hold)s::float8, greatest(calc.t, (calc.burst - calc.n + 1) * calc.t / 2))) END
               AS tat1
    FROM calc
)
UPDATE opslib.rate_limits r SET tat = CASE WHEN plan.n > 0
                                          THEN plan.tat1 + (plan.n - 1) * plan.t ELSE r.tat END
FROM plan WHERE r.domain = plan.domain
RETURNING plan.n AS granted, plan.tat1, plan.t, plan.now, plan.rate, plan.burst,
          plan.concurrency,
          greatest(plan.tat + plan.t - plan.burst * plan.t - plan.now, 0) AS wait,
          greatest(plan.tat + least(%(want)s, plan.burst) * plan.t - plan.burst * plan.t
                   - plan.now, 0) AS wait_batch
"""
_CREATE: LiteralString = (
    "INSERT INTO opslib.rate_limits (domain) VALUES (%(domain)s) ON CONFLICT (domain) DO NOTHING"
)
_RETRY_AFTER: LiteralString = """
INSERT INTO opslib.rate_limits AS r (domain, tat, blocked_until, blocked_reason)
VALUES (%(domain)s,
        extract(epoch FROM clock_timestamp()) + %(seconds)s + (%(burst)s - 1) / %(rate)s::float8,
        clock_timestamp() + make_interval(secs => %(seconds)s), %(reason)s)
ON CONFLICT (domain) DO UPDATE SET
    tat = greatest(r.tat, extract(epoch FROM clock_timestamp()) + %(seconds)s
                          + (coalesce(r.burst, %(burst)s) - 1) / coalesce(r.rate, %(rate)s)),
    blocked_until = greatest(r.blocked_until,
                             clock_timestamp() + make_interval(secs => %(seconds)s)),
    blocked_reason = %(reason)s
RETURNING blocked_until
"""
# A concurrency lease: expired leases (of crashed holders) are dropped, then one is added if
# fewer than `concurrency` remain. UPDATE re-checks its WHERE on the newest row version, so two
# processes racing for the last lease cannot both get it.
_LIVE_LEASES: LiteralString = """(
    SELECT coalesce(jsonb_object_agg(key, value), '{}'::jsonb) FROM jsonb_each(r.leases)
    WHERE value::float8 > extract(epoch FROM clock_timestamp()))"""
_LEASE: LiteralString = (
    "UPDATE opslib.rate_limits r SET leases = "
    + _LIVE_LEASES
    + """ || jsonb_build_object(%(lease)s::text, extract(epoch FROM clock_timestamp()) + %(ttl)s)
WHERE r.domain = %(domain)s AND r.concurrency IS NOT NULL
  AND (SELECT count(*) FROM jsonb_each(r.leases)
       WHERE value::float8 > extract(epoch FROM clock_timestamp())) < r.concurrency
RETURNING r.domain"""
)
_RELEASE: LiteralString = (
    "UPDATE opslib.rate_limits SET leases = leases - %(lease)s::text WHERE domain = %(domain)s"
)
_LIMITS: LiteralString = """
SELECT r.domain, r.rate, r.burst, r.concurrency, r.blocked_reason, r.changed_at, r.changed_by,
       CASE WHEN r.blocked_until > now() THEN r.blocked_until END AS blocked_until,
       (SELECT count(*) FROM jsonb_each(r.leases)
        WHERE value::float8 > extract(epoch FROM clock_timestamp())) AS in_flight
FROM opslib.rate_limits r
WHERE %(domain)s::text IS NULL OR r.domain = %(domain)s
ORDER BY r.domain
"""
_SET: LiteralString = """
INSERT INTO opslib.rate_limits AS r (domain, rate, burst, concurrency, changed_by)
VALUES (%(domain)s, %(rate)s, %(burst)s, %(concurrency)s, %(actor)s)
ON CONFLICT (domain) DO UPDATE SET rate = excluded.rate, burst = excluded.burst,
    concurrency = excluded.concurrency, changed_by = excluded.changed_by, changed_at = now()
"""


@dataclass
class _Bucket:
    """A process's view of one domain: permits in hand (their expiry on the local monotonic
    clock, earliest first), when the database said the next may be admissible, demand."""

    domain: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    permits: deque[float] = field(default_factory=deque)
    not_before: float = float("-inf")
    concurrency: int | None = None
    loaded: bool = False
    taken: int = 0
    refilled_at: float | None = None
    demand: float = 0.0  # permits per second this process used lately (smoothed)

    def take(self, now: float) -> bool:
        with self.lock:
            permits = self.permits
            while permits:
                expiry = permits.popleft()
                if expiry > now:
                    self.taken += 1
                    return True
            return False

    def want(self, now: float, settings: RateLimitSettings) -> int:
        if self.refilled_at is not None and now > self.refilled_at:
            recent = self.taken / max(now - self.refilled_at, 1e-3)
            self.demand = recent if self.demand == 0 else 0.5 * self.demand + 0.5 * recent
        self.taken = 0
        self.refilled_at = now
        return max(1, min(settings.max_batch, math.ceil(self.demand * settings.batch_seconds)))


@dataclass(frozen=True)
class RateLimitPlan:
    """A domain's limit before and after ``set``."""

    old: RateLimit
    new: RateLimit

    @property
    def changes(self) -> bool:
        """Whether applying it changes the stored limit."""
        old, new = self.old, self.new
        return not old.configured or (old.rate, old.burst, old.concurrency) != (
            new.rate,
            new.burst,
            new.concurrency,
        )

    def describe(self) -> str:
        """One line: ``alpha-shop.test: 5/s, burst 10 (default) -> 2/s, burst 2``."""
        if not self.changes:
            return f"{self.new.domain}: already {self.new.describe()}: nothing to change"
        return f"{self.new.domain}: {self.old.describe()} -> {self.new.describe()}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "domain": self.new.domain,
            "changes": self.changes,
            "old": self.old.as_dict(),
            "new": self.new.as_dict(),
            "summary": self.describe(),
        }


class Permit:
    """Leave to send one request to ``domain``. With a concurrency limit it holds a lease:
    :meth:`release` it (or use it as a context manager) when the request is done."""

    __slots__ = ("_lease", "_limiter", "domain")

    def __init__(self, limiter: RateLimiter, domain: str, lease: str | None) -> None:
        self._limiter = limiter
        self.domain = domain
        self._lease = lease

    @property
    def lease(self) -> str | None:
        """The concurrency lease held (None: the domain has no concurrency limit)."""
        return self._lease

    def release(self) -> None:
        """Give the concurrency lease back (idempotent; nothing to do without one)."""
        lease, self._lease = self._lease, None
        if lease is not None:
            self._limiter._release(self.domain, lease)

    def __enter__(self) -> Permit:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


class RateLimiter:
    """Per-domain limits shared through ``opslib.rate_limits`` by every process.

    ``acquire`` / ``try_acquire`` hand out permits from a local batch, reserving the next batch
    with one statement when it runs out; ``retry_after`` pushes a domain's schedule for every
    replica. Safe to share between threads; give it a :class:`Database` of its own. ``clock``
    (monotonic seconds) and ``sleep`` are injectable.
    """

    def __init__(
        self,
        db: Database,
        settings: RateLimitSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._db = db
        self.settings = settings if settings is not None else RateLimitSettings()
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[str, _Bucket] = {}
        self._buckets_lock = threading.Lock()
        self._db_lock = threading.Lock()
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.reservations = 0
        """Statements that reserved permits so far (for benchmarks and tests)."""

    @property
    def database(self) -> Database:
        """The database the limits live in."""
        return self._db

    # the scrapers' side

    def acquire(self, domain: str, timeout: float | None = 30.0) -> Permit:
        """A permit for ``domain``, waiting up to ``timeout`` seconds (None: as long as it
        takes). Raises :class:`RateLimitTimeout` when none can be had in time (at once when the
        next one is due later than that), and OpsError when the database cannot be read: a
        limit is never skipped."""
        bucket = self._bucket(domain)
        deadline = math.inf if timeout is None else self._clock() + max(timeout, 0.0)
        if not bucket.loaded:
            self._refill(bucket)
        lease = self._lease(bucket, deadline) if bucket.concurrency is not None else None
        try:
            self._take(bucket, deadline)
        except BaseException:
            if lease is not None:
                self._release(bucket.domain, lease)
            raise
        return Permit(self, bucket.domain, lease)

    def _take(self, bucket: _Bucket, deadline: float) -> None:
        while not bucket.take(self._clock()):
            now = self._clock()
            wait = bucket.not_before - now
            if wait <= 0:
                wait = self._refill(bucket)  # until a batch is due (the next one: not_before)
                if wait <= 0:
                    continue
            due = bucket.not_before - now
            if now + due > deadline:
                raise RateLimitTimeout(
                    bucket.domain, f"the next permit is due in {due:.2f} s", retry_in=due
                )
            self._sleep(min(wait, deadline - now))

    def try_acquire(self, domain: str) -> Permit | None:
        """A permit for ``domain`` if one can be had now (at most one database statement for
        the rate and one for a concurrency lease), else None."""
        bucket = self._bucket(domain)
        if not bucket.take(self._clock()):
            if self._clock() < bucket.not_before or self._refill(bucket) > 0:
                return None
            if not bucket.take(self._clock()):
                return None
        lease = None
        if bucket.concurrency is not None:
            lease = self._try_lease(bucket)
            if lease is None:
                return None  # the permit is spent: the rate counts attempts, not successes
        return Permit(self, bucket.domain, lease)

    def held_domains(self) -> frozenset[str]:
        """Domains this process knows have no permit due yet (a Retry-After, or the rate used
        up) for longer than ``hold_seconds``: a scraper picking work can leave them out."""
        horizon = self._clock() + self.settings.hold_seconds
        return frozenset(b.domain for b in list(self._buckets.values()) if b.not_before > horizon)

    def retry_after(self, domain: str, seconds: float, reason: str = "Retry-After") -> datetime:
        """Hold ``domain`` for ``seconds`` (a site's Retry-After, at most
        :data:`MAX_RETRY_AFTER`) for every replica: no permit is admissible before, and the
        rate resumes afterwards without a burst. Returns until when the domain is blocked."""
        bucket = self._bucket(domain)
        wait = min(max(float(seconds), 0.0), MAX_RETRY_AFTER)
        with bucket.lock:
            bucket.permits.clear()
            bucket.not_before = max(bucket.not_before, self._clock() + wait)
        settings = self.settings
        with self._db_lock:
            row = self._db.fetch_one(
                _RETRY_AFTER,
                {
                    "domain": bucket.domain,
                    "seconds": wait,
                    "reason": reason[:200],
                    "rate": settings.default_rate,
                    "burst": settings.default_burst,
                },
            )
        assert row is not None
        until: datetime = row["blocked_until"]
        return until

    def _bucket(self, domain: str) -> _Bucket:
        bucket = self._buckets.get(domain)
        if bucket is None:
            name = check_domain(domain)
            with self._buckets_lock:
                bucket = self._buckets.get(name)
                if bucket is None:
                    bucket = self._buckets[name] = _Bucket(name)
                self._buckets[domain] = bucket
        return bucket

    def _refill(self, bucket: _Bucket) -> float:
        """Reserve a batch; 0 when permits are in hand, else seconds until a batch may be (a
        busy process waits for a batch, not for each permit; ``not_before``: the next one)."""
        settings = self.settings
        with self._db_lock:
            if bucket.permits and bucket.permits[-1] > self._clock():
                return 0.0  # another thread refilled meanwhile
            sent = self._clock()
            params = {
                "domain": bucket.domain,
                "want": bucket.want(sent, settings),
                "rate": settings.default_rate,
                "burst": settings.default_burst,
                "hold": settings.hold_seconds,
            }
            row = self._db.fetch_one(_RESERVE, params)
            if row is None:
                self._db.execute(_CREATE, params)
                sent = self._clock()
                row = self._db.fetch_one(_RESERVE, params)
            assert row is not None
            self.reservations += 1
        granted = int(row["granted"])
        with bucket.lock:
            bucket.loaded = True
            bucket.concurrency = row["concurrency"]
            if granted > 0:
                # Local expiry = when the request was sent + (TAT_j - the database's now): never
                # later than TAT_j itself, however long the round trip took.
                first = sent + float(row["tat1"]) - float(row["now"])
                step = float(row["t"])
                bucket.permits.extend(first + j * step for j in range(granted))
                return 0.0
            wait = max(float(row["wait"]), _MIN_WAIT)
            bucket.not_before = self._clock() + wait
            return max(float(row["wait_batch"]), wait)

    def _try_lease(self, bucket: _Bucket) -> str | None:
        lease = uuid.uuid4().hex
        with self._db_lock:
            row = self._db.fetch_one(
                _LEASE,
                {"domain": bucket.domain, "lease": lease, "ttl": self.settings.lease_seconds},
            )
        if row is None:
            return None
        return f"{self._holder}:{lease}"

    def _lease(self, bucket: _Bucket, deadline: float) -> str | None:
        pause = _LEASE_POLL[0]
        while True:
            lease = self._try_lease(bucket)
            if lease is not None:
                return lease
            if bucket.concurrency is None:  # the limit was removed meanwhile
                return None
            now = self._clock()
            if now + pause > deadline:
                raise RateLimitTimeout(
                    bucket.domain,
                    f"{bucket.concurrency} request(s) already in flight (its concurrency limit)",
                    retry_in=pause,
                )
            self._sleep(pause)
            pause = min(pause * 2, _LEASE_POLL[1])

    def _release(self, domain: str, lease: str) -> None:
        with self._db_lock:
            self._db.execute(_RELEASE, {"domain": domain, "lease": lease.rsplit(":", 1)[-1]})

    # the operators' side

    def limits(self) -> list[RateLimit]:
        """Every domain with a row (configured, or created by use with the default)."""
        return [self._from_row(r) for r in self._db.fetch_all(_LIMITS, {"domain": None})]

    def limit(self, domain: str) -> RateLimit:
        """The limit ``domain`` runs under (the default when none is configured)."""
        name = check_domain(domain)
        rows = self._db.fetch_all(_LIMITS, {"domain": name})
        if not rows:
            settings = self.settings
            return RateLimit(name, settings.default_rate, settings.default_burst, configured=False)
        return self._from_row(rows[0])

    def plan_set(
        self,
        domain: str,
        *,
        rate: float | None = None,
        burst: int | None = None,
        concurrency: int | None = None,
    ) -> RateLimitPlan:
        """What ``set`` would store (reads, changes nothing). A burst not given is kept, or,
        for a domain on the default, one second's worth of the new rate (at least 1)."""
        old = self.limit(domain)
        new_rate = old.rate if rate is None else _positive_rate(rate)
        if burst is not None:
            new_burst = _valid_burst(burst)
        elif old.configured or rate is None:
            new_burst = old.burst
        else:
            new_burst = max(1, math.ceil(new_rate))
        if concurrency is not None and concurrency < 1:
            raise InputError(f"--concurrency {concurrency}: at least 1 request at a time")
        new = RateLimit(
            old.domain,
            new_rate,
            new_burst,
            old.concurrency if concurrency is None else concurrency,
        )
        return RateLimitPlan(old, new)

    def set_limit(
        self,
        domain: str,
        *,
        rate: float | None = None,
        burst: int | None = None,
        concurrency: int | None = None,
        actor: str | None = None,
    ) -> RateLimitPlan:
        """Store ``domain``'s limit (fields not given are kept); every replica follows from its
        next reservation. Returns what was done."""
        plan = self.plan_set(domain, rate=rate, burst=burst, concurrency=concurrency)
        if plan.changes:
            new = plan.new
            self._db.execute(
                _SET,
                {
                    "domain": new.domain,
                    "rate": new.rate,
                    "burst": new.burst,
                    "concurrency": new.concurrency,
                    "actor": actor or current_actor(),
                },
            )
            bucket = self._buckets.get(new.domain)
            if bucket is not None:
                with bucket.lock:
                    bucket.concurrency = new.concurrency
        return plan

    def _from_row(self, row: dict[str, Any]) -> RateLimit:
        settings = self.settings
        return RateLimit.from_row(row, settings.default_rate, settings.default_burst)


def _positive_rate(rate: float) -> float:
    if not (rate > 0 and math.isfinite(rate)):
        raise InputError(
            f"--rate {rate:g}: a rate must be above 0 (to stop a domain: domains pause)"
        )
    return float(rate)


def _valid_burst(burst: int) -> int:
    if burst < 1:
        raise InputError(f"--burst {burst}: at least 1 (a request needs one permit)")
    return int(burst)
