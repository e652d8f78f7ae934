"""The shared pool: scrapers ``acquire`` a lease per request and ``report`` how it went.

All state lives in ``opslib.proxies`` and its side tables. Every change is one statement that
updates counters in place (``x = x * decay + n``), so reports from many processes add up and
none is lost. ``acquire`` and ``report`` are one round trip each.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, LiteralString

from pydantic import SecretStr

from opslib.adapters import Database
from opslib.config import ProxySettings
from opslib.errors import DataError, NoProxyAvailable
from opslib.proxies._model import Proxy, ProxyState
from opslib.proxies._sealing import PasswordSealer
from opslib.proxies._tester import ProbeResult

__all__ = ["DomainPolicy", "Lease", "Outcome", "PoolProxy", "ProxyPool"]

DEFAULT_BAN_STATUSES = (403, 429)
DEFAULT_BAN_PATTERNS = ("captcha", "are you a robot", "access denied")
_BODY_SCAN = 4096

# Weighted random choice (exponential race): weight = health^2 * free share / latency factor.
# Health is (successes + 1) / (successes + failures + 1): an untried proxy counts as healthy, and
# decay forgives old failures, so every proxy gets tried again.
_ACQUIRE: LiteralString = """
WITH policy AS (
    SELECT country, sticky, max_concurrency, ban_statuses, ban_patterns, ban_minutes
    FROM opslib.proxy_policies WHERE domain = %(domain)s
), pick AS (
    SELECT p.id
    FROM opslib.proxies p LEFT JOIN policy ON true
    WHERE p.state = 'active'
      AND (coalesce(%(country)s, policy.country) IS NULL
           OR p.country = coalesce(%(country)s, policy.country))
      AND (p.backoff_until IS NULL OR p.backoff_until <= now())
      AND (p.in_use < least(p.max_concurrency, coalesce(policy.max_concurrency, p.max_concurrency))
           OR p.last_used_at < now() - make_interval(secs => %(lease_seconds)s))
      AND NOT EXISTS (SELECT 1 FROM opslib.proxy_bans b
                      WHERE b.proxy_id = p.id AND b.domain = %(domain)s AND b.until > now())
    ORDER BY
      CASE WHEN coalesce(policy.sticky, false) AND %(session)s::text IS NOT NULL
           THEN hashtext(%(session)s || p.url) END,
      -ln(1 - random()) / greatest(
          power((p.successes + 1) / (p.successes + p.failures + 1), 2)
          * (1 - p.in_use::float8 / (p.max_concurrency + 1))
          / (1 + coalesce(p.latency_ms, 0) / 1000), 1e-9)
    LIMIT 1
    FOR UPDATE OF p SKIP LOCKED
)
UPDATE opslib.proxies p SET last_used_at = now(),
    -- Leases of a crashed client are never reported: a proxy nobody could lease for
    -- lease_seconds starts counting afresh.
    in_use = CASE WHEN p.last_used_at < now() - make_interval(secs => %(lease_seconds)s)
                  THEN 1 ELSE p.in_use + 1 END
FROM pick
WHERE p.id = pick.id
RETURNING p.id, p.url, p.scheme, p.host, p.port, p.username, p.password, p.country, p.source,
          p.tags,
          (SELECT ban_statuses FROM policy) AS ban_statuses,
          (SELECT ban_patterns FROM policy) AS ban_patterns,
          (SELECT ban_minutes FROM policy) AS ban_minutes
"""

_WHY_NONE: LiteralString = """
SELECT count(*) AS total,
       count(*) FILTER (WHERE state = 'active') AS active,
       count(*) FILTER (WHERE state = 'active' AND (%(country)s::text IS NULL
                                                    OR country = %(country)s)) AS in_country,
       count(*) FILTER (WHERE state = 'active' AND EXISTS (
           SELECT 1 FROM opslib.proxy_bans b
           WHERE b.proxy_id = p.id AND b.domain = %(domain)s AND b.until > now())) AS banned,
       count(*) FILTER (WHERE state = 'active' AND backoff_until > now()) AS backing_off
FROM opslib.proxies p
"""

_REPORT: LiteralString = """
WITH p AS (
    UPDATE opslib.proxies SET
        successes = successes * exp(-greatest(extract(epoch FROM now() - decayed_at), 0)
                                    / %(tau)s) + %(ok)s,
        failures = failures * exp(-greatest(extract(epoch FROM now() - decayed_at), 0)
                                  / %(tau)s) + %(fail)s,
        decayed_at = now(),
        requests = requests + 1,
        in_use = greatest(in_use - 1, 0),
        latency_ms = CASE WHEN %(latency)s::float8 IS NULL THEN latency_ms
                          WHEN latency_ms IS NULL THEN %(latency)s
                          ELSE latency_ms * (1 - %(alpha)s) + %(latency)s * %(alpha)s END,
        consecutive_failures = CASE WHEN %(fail)s > 0 THEN consecutive_failures + 1
                                    WHEN %(ok)s > 0 THEN 0 ELSE consecutive_failures END,
        backoff_until = CASE
            WHEN %(fail)s > 0 AND consecutive_failures + 1 >= %(threshold)s
            THEN now() + make_interval(secs => least(
                     %(base)s * power(2, consecutive_failures + 1 - %(threshold)s), %(max)s)
                     * (0.5 + random()))
            WHEN %(ok)s > 0 THEN NULL
            ELSE backoff_until END
    WHERE id = %(id)s
    RETURNING id, consecutive_failures, backoff_until
), ban AS (
    INSERT INTO opslib.proxy_bans (proxy_id, domain, until, reason)
    SELECT %(id)s, %(domain)s, now() + make_interval(mins => %(ban_minutes)s), %(reason)s
    WHERE %(ban)s
    ON CONFLICT (proxy_id, domain) DO UPDATE SET until = excluded.until, reason = excluded.reason
), usage AS (
    INSERT INTO opslib.proxy_usage AS u (proxy_id, domain, hour, requests, failures, bans)
    VALUES (%(id)s, %(domain)s, date_trunc('hour', now()), 1, %(fail)s::int, %(ban)s::int)
    ON CONFLICT (proxy_id, domain, hour) DO UPDATE SET
        requests = u.requests + 1, failures = u.failures + excluded.failures,
        bans = u.bans + excluded.bans
), event AS (
    INSERT INTO opslib.proxy_events (proxy_id, kind, domain, detail)
    SELECT %(id)s, 'banned', %(domain)s, %(reason)s WHERE %(ban)s
    UNION ALL
    SELECT id, 'backoff', %(domain)s, 'after ' || consecutive_failures || ' failures, until '
           || to_char(backoff_until AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC'
    FROM p WHERE %(fail)s > 0 AND consecutive_failures >= %(threshold)s
)
SELECT id, consecutive_failures, backoff_until FROM p
"""

# Rows go in URL order (byte order, as Python sorts): writers that lock rows in one order
# cannot deadlock each other.
_UPSERT: LiteralString = """
WITH written AS (
    INSERT INTO opslib.proxies AS p
        (url, scheme, host, port, username, password, country, source, tags, state,
         max_concurrency)
    SELECT r.url, r.scheme, r.host, r.port, r.username, r.password, r.country, r.source,
           coalesce(r.tags, '{}'), %(state)s, %(max_concurrency)s
    FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(url text, scheme text, host text, port int,
         username text, password text, country text, source text, tags text[])
    ORDER BY r.url COLLATE "C"
    ON CONFLICT (url) DO UPDATE SET
        username = excluded.username, password = excluded.password,
        country = coalesce(excluded.country, p.country), source = excluded.source,
        tags = excluded.tags,
        state = CASE WHEN p.state = 'retired' THEN excluded.state ELSE p.state END,
        changed_at = now()
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) AS added FROM written
"""
_UPSERT_BATCH = 5000

_CONNECTABLE: LiteralString = (
    "SELECT scheme, host, port, username, password, country FROM opslib.proxies"
    " WHERE state = ANY(%s) ORDER BY url"
)

_LIST: LiteralString = """
SELECT p.id, p.url, p.scheme, p.host, p.port, p.username, p.country, p.source, p.tags, p.state,
       p.in_use, p.max_concurrency, p.requests, p.consecutive_failures, p.backoff_until,
       p.latency_ms, p.checked_at, p.check_ok, p.exit_ip, p.leaks,
       (p.successes + 1) / (p.successes + p.failures + 1) AS success_rate,
       (SELECT array_agg(b.domain ORDER BY b.domain) FROM opslib.proxy_bans b
        WHERE b.proxy_id = p.id AND b.until > now()) AS banned_for
FROM opslib.proxies p
WHERE %(states)s::text[] IS NULL OR p.state = ANY(%(states)s)
ORDER BY p.country NULLS LAST, p.url
"""


@dataclass(frozen=True)
class DomainPolicy:
    """How a target domain is scraped: which country, sticky sessions, what a ban looks like."""

    domain: str
    country: str | None = None
    sticky: bool = False
    max_concurrency: int | None = None
    ban_statuses: tuple[int, ...] = DEFAULT_BAN_STATUSES
    ban_patterns: tuple[str, ...] = DEFAULT_BAN_PATTERNS
    ban_minutes: int = 30


@dataclass(frozen=True)
class Lease:
    """One proxy handed out for one request to ``domain``; give it back with ``report``."""

    proxy_id: int
    proxy: Proxy
    domain: str
    ban_statuses: tuple[int, ...] = DEFAULT_BAN_STATUSES
    ban_patterns: tuple[str, ...] = DEFAULT_BAN_PATTERNS
    ban_minutes: int = 30

    @property
    def url(self) -> str:
        """The proxy's label, without credentials."""
        return self.proxy.url

    @property
    def country(self) -> str | None:
        return self.proxy.country

    def connect_url(self) -> str:
        """The proxy URL with credentials, for the HTTP client only."""
        return self.proxy.connect_url()

    def outcome(
        self, status: int | None, latency_ms: float, body: bytes = b"", error: str = ""
    ) -> Outcome:
        """Classify a response (or a transport ``error`` when ``status`` is None) by the
        domain's ban policy."""
        if status is None:
            return Outcome("failure", latency_ms, error or "no response")
        if status in self.ban_statuses:
            return Outcome("ban", latency_ms, f"HTTP {status}")
        head = body[:_BODY_SCAN].decode("utf-8", "replace").lower()
        for pattern in self.ban_patterns:
            if pattern.lower() in head:
                return Outcome("ban", latency_ms, f"body matches {pattern!r}")
        return Outcome("success", latency_ms)


@dataclass(frozen=True)
class Outcome:
    """How a request through a lease went: ``success`` (the proxy worked, whatever the site
    answered), ``failure`` (the proxy did not: refused, timed out, broken) or ``ban``."""

    kind: str
    latency_ms: float | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("success", "failure", "ban"):
            raise DataError(f"unknown outcome {self.kind!r}")
        if self.latency_ms is not None and (math.isnan(self.latency_ms) or self.latency_ms < 0):
            raise DataError(f"invalid latency {self.latency_ms!r}")


@dataclass(frozen=True)
class PoolProxy:
    """A proxy as the pool sees it now (no secrets)."""

    id: int
    url: str
    country: str | None
    source: str
    tags: tuple[str, ...]
    state: ProxyState
    in_use: int
    max_concurrency: int
    requests: int
    success_rate: float
    latency_ms: float | None
    consecutive_failures: int
    backoff_until: datetime | None
    banned_for: tuple[str, ...]
    checked_at: datetime | None
    check_ok: bool | None
    exit_ip: str | None
    leaks: bool | None
    has_credentials: bool

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> PoolProxy:
        return cls(
            id=int(row["id"]),
            url=str(row["url"]),
            country=row["country"],
            source=str(row["source"]),
            tags=tuple(row["tags"] or ()),
            state=ProxyState(row["state"]),
            in_use=int(row["in_use"]),
            max_concurrency=int(row["max_concurrency"]),
            requests=int(row["requests"]),
            success_rate=float(row["success_rate"]),
            latency_ms=None if row["latency_ms"] is None else float(row["latency_ms"]),
            consecutive_failures=int(row["consecutive_failures"]),
            backoff_until=row["backoff_until"],
            banned_for=tuple(row["banned_for"] or ()),
            checked_at=row["checked_at"],
            check_ok=row["check_ok"],
            exit_ip=row["exit_ip"],
            leaks=row["leaks"],
            has_credentials=row["username"] is not None,
        )

    def healthy(self, min_success_rate: float, now: datetime) -> bool:
        """Active, not backing off, its record and its last test (if any) good."""
        return (
            self.state is ProxyState.ACTIVE
            and (self.backoff_until is None or self.backoff_until <= now)
            and self.success_rate >= min_success_rate
            and self.check_ok is not False
        )


def _upsert_row(proxy: Proxy, sealer: PasswordSealer) -> dict[str, Any]:
    return {
        "url": proxy.url,
        "scheme": proxy.scheme,
        "host": proxy.host,
        "port": proxy.port,
        "username": proxy.username,
        "password": sealer.seal(proxy.password.get_secret_value()) if proxy.password else None,
        "country": proxy.country,
        "source": proxy.source,
        "tags": list(proxy.tags),
    }


class ProxyPool:
    """The proxy pool in the ``opslib`` schema of ``db``."""

    def __init__(self, db: Database, settings: ProxySettings | None = None) -> None:
        self._db = db
        self.settings = settings if settings is not None else ProxySettings()
        self._sealer = PasswordSealer(self.settings.encryption_keys)

    @property
    def database(self) -> Database:
        return self._db

    # the scrapers' side

    def acquire(self, domain: str, country: str | None = None, session: str | None = None) -> Lease:
        """The best eligible proxy for ``domain`` (weighted by health, load and latency).

        ``session`` keeps a sticky domain on the same proxy while it stays eligible. Raises
        :class:`NoProxyAvailable` saying why when none is eligible.
        """
        code = country.lower() if country else None
        params = {
            "domain": domain,
            "country": code,
            "session": session,
            "lease_seconds": self.settings.lease_seconds,
        }
        row = self._db.fetch_one(_ACQUIRE, params)
        if row is None:
            raise self._none_available(domain, code)
        return Lease(
            proxy_id=int(row["id"]),
            proxy=Proxy(
                scheme=row["scheme"],
                host=row["host"],
                port=row["port"],
                username=row["username"],
                password=self._password(row["password"]),
                country=row["country"],
                source=row["source"],
                tags=tuple(row["tags"] or ()),
            ),
            domain=domain,
            ban_statuses=tuple(row["ban_statuses"] or DEFAULT_BAN_STATUSES),
            ban_patterns=tuple(row["ban_patterns"] or DEFAULT_BAN_PATTERNS),
            ban_minutes=int(row["ban_minutes"] or 30),
        )

    def connectable(self, states: Sequence[ProxyState]) -> list[Proxy]:
        """The proxies in ``states`` by URL with their passwords opened (for the tester only:
        never print them)."""
        rows = self._db.fetch_all(_CONNECTABLE, ([s.value for s in states],))
        return [Proxy(**{**row, "password": self._password(row["password"])}) for row in rows]

    def _password(self, stored: str | None) -> SecretStr | None:
        return None if stored is None else SecretStr(self._sealer.open(stored))

    def report(self, lease: Lease, outcome: Outcome) -> None:
        """Feed back how the request went and release the lease."""
        s = self.settings
        self._db.fetch_one(
            _REPORT,
            {
                "id": lease.proxy_id,
                "domain": lease.domain,
                "tau": s.decay_seconds,
                "alpha": s.latency_alpha,
                "ok": 1.0 if outcome.kind == "success" else 0.0,
                "fail": 1.0 if outcome.kind == "failure" else 0.0,
                "ban": outcome.kind == "ban",
                "reason": outcome.reason[:200],
                "latency": outcome.latency_ms if outcome.kind != "failure" else None,
                "threshold": s.failures_to_backoff,
                "base": s.backoff_base,
                "max": s.backoff_max,
                "ban_minutes": lease.ban_minutes,
            },
        )

    def _none_available(self, domain: str, country: str | None) -> NoProxyAvailable:
        row = self._db.fetch_one(_WHY_NONE, {"domain": domain, "country": country})
        assert row is not None

        def none(reason: str, *, banned: bool = False) -> NoProxyAvailable:
            return NoProxyAvailable(domain, reason, banned=banned)

        if row["total"] == 0:
            return none("the pool is empty (opslib proxies update FILE)")
        if row["active"] == 0:
            return none(f"none of {row['total']} proxies is active (opslib proxies rotate)")
        if country is not None and row["in_country"] == 0:
            return none(f"no active proxy in country {country}")
        if row["banned"] >= row["active"]:
            return none(f"all {row['active']} active proxies are banned for {domain}", banned=True)
        if row["banned"] + row["backing_off"] >= row["active"]:
            return none(
                f"{row['banned']} active proxies banned, {row['backing_off']} backing off "
                "after failures"
            )
        return none("every eligible proxy is at its concurrency limit")

    # the operators' side

    def upsert(self, proxies: Iterable[Proxy], state: ProxyState = ProxyState.ACTIVE) -> int:
        """Add ``proxies`` (or refresh their details), in URL order, in one transaction; a URL
        given twice takes the later proxy. Returns how many were new."""
        by_url = {proxy.url: proxy for proxy in proxies}
        rows = [_upsert_row(by_url[url], self._sealer) for url in sorted(by_url)]
        added = 0
        with self._db.transaction():
            for at in range(0, len(rows), _UPSERT_BATCH):
                row = self._db.fetch_one(
                    _UPSERT,
                    {
                        "rows": json.dumps(rows[at : at + _UPSERT_BATCH]),
                        "state": state.value,
                        "max_concurrency": self.settings.max_concurrency,
                    },
                )
                added += int(row["added"]) if row else 0
        return added

    def lock_rows(self, urls: Sequence[str]) -> None:
        """Lock the rows of ``urls`` (those that exist) for the current transaction, in URL
        order: a writer that takes its rows this way first cannot deadlock with another."""
        if urls:
            self._db.execute(
                'SELECT 1 FROM opslib.proxies WHERE url = ANY(%s) ORDER BY url COLLATE "C"'
                " FOR UPDATE",
                (list(urls),),
            )

    def proxies(self, states: Sequence[ProxyState] | None = None) -> list[PoolProxy]:
        """Every proxy (or those in ``states``), by country then URL."""
        wanted = None if states is None else [s.value for s in states]
        return [PoolProxy.from_row(r) for r in self._db.fetch_all(_LIST, {"states": wanted})]

    def set_state(self, urls: Sequence[str], state: ProxyState, reason: str) -> int:
        """Move proxies to ``state``; one history event each. Returns how many changed."""
        if not urls:
            return 0
        row = self._db.fetch_one(
            "WITH moved AS (UPDATE opslib.proxies SET state = %(state)s, changed_at = now()"
            " WHERE url = ANY(%(urls)s) AND state <> %(state)s RETURNING id),"
            " ev AS (INSERT INTO opslib.proxy_events (proxy_id, kind, detail)"
            " SELECT id, %(kind)s, %(reason)s FROM moved)"
            " SELECT count(*) AS n FROM moved",
            {"state": state.value, "urls": list(urls), "kind": state.value, "reason": reason},
        )
        return int(row["n"]) if row else 0

    def history(self, url: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """The newest events (of one proxy, or all), newest first."""
        return self._db.fetch_all(
            "SELECT e.at, p.url, e.kind, e.domain, e.detail FROM opslib.proxy_events e"
            " LEFT JOIN opslib.proxies p ON p.id = e.proxy_id"
            " WHERE %(url)s::text IS NULL OR p.url = %(url)s ORDER BY e.at DESC, e.id DESC"
            " LIMIT %(limit)s",
            {"url": url, "limit": limit},
        )

    def policy(self, domain: str) -> DomainPolicy:
        """The policy of ``domain`` (the defaults when none is set)."""
        row = self._db.fetch_one("SELECT * FROM opslib.proxy_policies WHERE domain = %s", (domain,))
        if row is None:
            return DomainPolicy(domain)
        return DomainPolicy(
            domain=domain,
            country=row["country"],
            sticky=bool(row["sticky"]),
            max_concurrency=row["max_concurrency"],
            ban_statuses=tuple(row["ban_statuses"]),
            ban_patterns=tuple(row["ban_patterns"]),
            ban_minutes=int(row["ban_minutes"]),
        )

    def set_policy(self, policy: DomainPolicy) -> None:
        """Create or replace the policy of ``policy.domain``."""
        self._db.execute(
            "INSERT INTO opslib.proxy_policies AS p (domain, country, sticky, max_concurrency,"
            " ban_statuses, ban_patterns, ban_minutes) VALUES (%(domain)s, %(country)s,"
            " %(sticky)s, %(max)s, %(statuses)s, %(patterns)s, %(minutes)s)"
            " ON CONFLICT (domain) DO UPDATE SET country = excluded.country,"
            " sticky = excluded.sticky, max_concurrency = excluded.max_concurrency,"
            " ban_statuses = excluded.ban_statuses, ban_patterns = excluded.ban_patterns,"
            " ban_minutes = excluded.ban_minutes, changed_at = now()",
            {
                "domain": policy.domain,
                "country": policy.country,
                "sticky": policy.sticky,
                "max": policy.max_concurrency,
                "statuses": list(policy.ban_statuses),
                "patterns": list(policy.ban_patterns),
                "minutes": policy.ban_minutes,
            },
        )

    def ban_rates(self, hours: int) -> dict[str, tuple[int, int]]:
        """(requests, bans) per target domain over the last ``hours``."""
        rows = self._db.fetch_all(
            "SELECT domain, sum(requests)::bigint AS requests, sum(bans)::bigint AS bans"
            " FROM opslib.proxy_usage WHERE hour >= date_trunc('hour', now())"
            " - make_interval(hours => %(hours)s) GROUP BY domain ORDER BY domain",
            {"hours": hours},
        )
        return {r["domain"]: (int(r["requests"]), int(r["bans"])) for r in rows}

    def record_probes(self, results: Sequence[ProbeResult]) -> None:
        """Store test results (one statement). A failed or leaking test is an event in the
        history; a passed test ends a backoff (the proxy answers again), as an event too."""
        done = [r for r in results if r.status != "deadline"]
        if not done:
            return
        self._db.execute(
            "WITH r AS (SELECT * FROM unnest(%(urls)s::text[], %(ok)s::bool[], %(ip)s::text[],"
            " %(leaks)s::bool[], %(detail)s::text[]) AS t(url, ok, exit_ip, leaks, detail)),"
            " old AS (SELECT p.id, p.backoff_until > now() AS backing_off FROM opslib.proxies p"
            ' JOIN r ON r.url = p.url ORDER BY p.url COLLATE "C" FOR UPDATE OF p),'
            " upd AS (UPDATE opslib.proxies p SET checked_at = now(), check_ok = r.ok,"
            " exit_ip = coalesce(r.exit_ip, p.exit_ip), leaks = coalesce(r.leaks, p.leaks),"
            " consecutive_failures = CASE WHEN r.ok THEN 0 ELSE p.consecutive_failures END,"
            " backoff_until = CASE WHEN r.ok THEN NULL ELSE p.backoff_until END"
            " FROM r, old WHERE p.url = r.url AND old.id = p.id"
            " RETURNING p.id, r.ok, r.leaks, r.detail, old.backing_off)"
            " INSERT INTO opslib.proxy_events (proxy_id, kind, detail)"
            " SELECT id, 'test_failed', detail FROM upd WHERE NOT ok"
            " UNION ALL SELECT id, 'leaking', detail FROM upd WHERE ok AND leaks"
            " UNION ALL SELECT id, 'recovered', 'passed a test during its backoff' FROM upd"
            " WHERE ok AND backing_off",
            {
                "urls": [r.url for r in done],
                "ok": [r.ok for r in done],
                "ip": [r.exit_ip for r in done],
                "leaks": [r.leaks for r in done],
                "detail": [r.error or "client IP visible to the target" for r in done],
            },
        )
