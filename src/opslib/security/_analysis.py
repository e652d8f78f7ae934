"""Access-log analysis: features per client IP and per API key, suspects ranked with evidence.

Streaming: memory grows with the number of distinct clients (each holds a few counters, at most
:data:`PATHS_KEPT` paths and :data:`AGENTS_KEPT` user agents), never with the number of lines.
Bursts are judged against the client's own baseline: an exponentially weighted mean of its
requests per minute over the minutes it was seen, updated as each minute closes.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import MISSING, dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from opslib.security._columns import Columns, columns
from opslib.security._parse import CHUNK, Record, parse_chunk

__all__ = [
    "Analysis",
    "Analyzer",
    "ClientReport",
    "epoch_minute",
    "fingerprint",
    "is_unusual_path",
]

PATHS_KEPT = 256
AGENTS_KEPT = 8
SAMPLES_KEPT = 5
_ALPHA = 0.2  # weight of the newest minute in a client's baseline
_UNUSUAL = re.compile(
    rb"(?:\.\./|\.\.%2f|%2e%2e|/\.env|/\.git|/\.aws|/\.ssh|/\.htaccess|/\.htpasswd|/\.ds_store"
    rb"|wp-login|wp-admin|xmlrpc\.php|/phpmyadmin|/pma/|/admin|/administrator|/manager/html"
    rb"|/actuator|/server-status|/console|/cgi-bin/|/etc/passwd|/boot\.ini|win\.ini|\.php\b"
    rb"|\.(?:bak|old|sql|swp|zip|tar\.gz)\b|/config\.json|/debug|/shell"
    rb"|union(?:\+|%20|\s)+select|select(?:\+|%20|\s)+.*from|or(?:\+|%20|\s)+1=1"
    rb"|%27|sleep\(|benchmark\(|'(?:\+|%20|\s)*or\b|information_schema|<script|%3cscript|javascript:"
    rb"|;(?:cat|ls|id|wget|curl)|\|(?:cat|ls|id)|\$\(|`|%60|\$\{jndi)",
    re.IGNORECASE,
)
_PLAIN = re.compile(
    rb"[A-Za-z0-9/_.-]*(?:\?[A-Za-z0-9_]+=[A-Za-z0-9_.-]*(?:&[A-Za-z0-9_]+=[A-Za-z0-9_.-]*)*)?"
)
"""A path whose query values are plain words: only its bare part can be a probe."""
_TOOLS = re.compile(
    rb"sqlmap|nikto|nmap|masscan|zgrab|gobuster|dirbuster|dirb/|wfuzz|ffuf|hydra|nuclei"
    rb"|acunetix|nessus|openvas|wpscan|masscan|scanner",
    re.IGNORECASE,
)
_KEY_PARAM = re.compile(rb"[?&](?:api_key|apikey|key|token|access_token)=([^&#\s]{1,512})", re.I)
_MONTHS = {
    m.encode(): i + 1
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    )
}


def fingerprint(key: str | bytes) -> str:
    """A short, stable stand-in for an API key (``k:`` and 10 hex digits of its SHA-256);
    a fingerprint given again is kept as it is. The key itself is never shown."""
    raw = key.encode("utf-8", "surrogateescape") if isinstance(key, str) else key
    if raw.startswith(b"k:") and len(raw) == 12:
        return raw.decode("ascii", "replace")
    return "k:" + hashlib.sha256(raw).hexdigest()[:10]


def is_unusual_path(path: str | bytes) -> bool:
    """Whether a request path has the shape of a probe: admin surfaces, dot-files, traversal,
    SQL or command injection."""
    raw = path.encode("utf-8", "surrogateescape") if isinstance(path, str) else path
    return _UNUSUAL.search(raw) is not None


def epoch_minute(stamp: bytes, zone: bytes) -> int | None:
    """Epoch minute of ``dd/Mon/yyyy:HH:MM`` in ``zone`` (``+hhmm``)."""
    try:
        day, month, year = int(stamp[0:2]), _MONTHS[stamp[3:6]], int(stamp[7:11])
        hour, minute = int(stamp[12:14]), int(stamp[15:17])
        at = datetime(year, month, day, hour, minute, tzinfo=UTC)
    except (KeyError, ValueError):
        return None
    offset = 0
    if len(zone) == 5:
        sign = -1 if zone[:1] == b"-" else 1
        offset = sign * (int(zone[1:3]) * 60 + int(zone[3:5]))
    return int(at.timestamp()) // 60 - offset


class _Stats:
    """The running features of one client (an IP or a key)."""

    __slots__ = (
        "agents",
        "auth",
        "baseline",
        "cur",
        "cur_n",
        "errors",
        "first",
        "last",
        "last_ok",
        "others",
        "paths",
        "paths_over",
        "peak",
        "peak_at",
        "requests",
        "samples",
        "seen_minutes",
        "sensitive_ok",
        "tools",
        "unusual",
    )

    def __init__(self, minute: int) -> None:
        self.requests = 0
        self.errors = 0
        self.auth = 0
        self.unusual = 0
        self.sensitive_ok = 0
        self.tools = 0
        self.paths: set[bytes] = set()
        self.paths_over = False
        self.agents: dict[bytes, int] = {}
        self.samples: list[bytes] = []
        self.others: set[bytes] = set()  # keys of an IP, IPs of a key (capped)
        self.first = minute
        self.last = minute
        self.last_ok = -1  # epoch second of the last request answered without refusal
        self.cur = minute
        self.cur_n = 0
        self.baseline = -1.0  # requests per minute, EWMA over closed minutes; -1: none yet
        self.peak = 0
        self.peak_at = minute
        self.seen_minutes = 0

    def close_minute(self, new: int) -> None:
        n = self.cur_n
        if n > self.peak:
            self.peak, self.peak_at = n, self.cur
        # minutes without requests in between count as zero
        gap = max(0, min(new - self.cur - 1, 60))
        base = n if self.baseline < 0 else self.baseline + _ALPHA * (n - self.baseline)
        for _ in range(gap):
            base *= 1 - _ALPHA
        self.baseline = base
        self.seen_minutes += 1
        self.cur, self.cur_n = new, 0


@dataclass(frozen=True)
class ClientReport:
    """The features of one client over the analysed window, and the verdict on it."""

    kind: str  # "ip" or "key"
    client: str  # an address, or a key fingerprint
    requests: int
    errors: int
    auth_failures: int
    distinct_paths: int
    distinct_paths_capped: bool
    unusual_paths: int
    sensitive_successes: int
    samples: tuple[str, ...]
    user_agents: tuple[str, ...]
    tool_agents: int
    peak_per_minute: int
    baseline_per_minute: float
    first_seen: datetime
    last_seen: datetime
    last_served: datetime | None
    related: tuple[str, ...]  # the keys an IP used, the IPs a key came from
    window_seconds: float
    db_auth_failures: int = 0
    score: float = 0.0
    reasons: tuple[str, ...] = ()
    action: str = ""

    @property
    def rate(self) -> float:
        """Requests per second over the window."""
        return self.requests / self.window_seconds if self.window_seconds > 0 else 0.0

    @property
    def error_share(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    @property
    def auth_failures_per_minute(self) -> float:
        return 60.0 * self.auth_failures / self.window_seconds if self.window_seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "kind": self.kind,
            "client": self.client,
            "requests": self.requests,
            "rate_per_second": round(self.rate, 3),
            "errors": self.errors,
            "error_share": round(self.error_share, 4),
            "auth_failures": self.auth_failures,
            "auth_failures_per_minute": round(self.auth_failures_per_minute, 3),
            "db_auth_failures": self.db_auth_failures,
            "distinct_paths": self.distinct_paths,
            "distinct_paths_capped": self.distinct_paths_capped,
            "unusual_paths": self.unusual_paths,
            "sensitive_successes": self.sensitive_successes,
            "samples": list(self.samples),
            "user_agents": list(self.user_agents),
            "tool_agents": self.tool_agents,
            "peak_per_minute": self.peak_per_minute,
            "baseline_per_minute": round(self.baseline_per_minute, 2),
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "last_served": self.last_served.isoformat() if self.last_served else None,
            "related": list(self.related),
            "score": round(self.score, 2),
            "reasons": list(self.reasons),
            "action": self.action,
        }


_REPORT_DEFAULTS = {
    f.name: f.default for f in dataclasses.fields(ClientReport) if f.default is not MISSING
}


@dataclass(frozen=True)
class Analysis:
    """What the logs showed: counts of lines, every client's features, the suspects ranked."""

    lines: int
    parsed: int
    start: datetime | None
    end: datetime | None
    clients: tuple[ClientReport, ...]
    keys: tuple[ClientReport, ...]
    suspects: tuple[ClientReport, ...]
    clients_dropped: int = 0  # clients past the memory bound, counted together
    sources: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def skipped(self) -> int:
        """Lines that were not access log records (garbage, too long, another format)."""
        return self.lines - self.parsed

    @property
    def window_seconds(self) -> float:
        if self.start is None or self.end is None:
            return 0.0
        return max(60.0, (self.end - self.start).total_seconds())

    def client(self, ip: str) -> ClientReport | None:
        """The report on one address, if it was seen."""
        return next((c for c in self.clients if c.client == ip), None)

    def as_dict(self, limit: int = 50) -> dict[str, Any]:
        """JSON-ready (the ``limit`` busiest clients and keys, every suspect)."""
        return {
            "lines": self.lines,
            "parsed": self.parsed,
            "skipped": self.skipped,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "window_seconds": self.window_seconds,
            "distinct_ips": len(self.clients) + self.clients_dropped,
            "distinct_keys": len(self.keys),
            "sources": list(self.sources),
            "notes": list(self.notes),
            "suspects": [s.as_dict() for s in self.suspects],
            "clients": [c.as_dict() for c in self.clients[:limit]],
            "keys": [k.as_dict() for k in self.keys[:limit]],
        }


@dataclass(frozen=True)
class Policy:
    """What makes a client suspect (from :class:`~opslib.config.SecuritySettings`)."""

    rate: float = 5.0  # requests/s over the window
    auth_per_minute: float = 2.0
    error_share: float = 0.5
    min_requests: int = 20
    burst_factor: float = 5.0
    burst_min: int = 60
    distinct_paths: int = 100
    unusual: int = 3
    block_for: str = "24h"


class Analyzer:
    """Feed records (:func:`~opslib.security._parse.parse_chunk`), then :meth:`result`.

    ``since_minute`` drops older records (epoch minutes); ``blocked_status`` is the status a
    refusal by the blocklist gets (it does not count as served). At most ``max_clients`` IPs
    and as many keys are tracked one by one; the rest are counted together.
    """

    chunk_size: int = CHUNK
    """The chunk size to feed it (:func:`~opslib.security._parse.iter_chunks`)."""

    def __init__(
        self,
        *,
        since_minute: int | None = None,
        max_clients: int = 1_000_000,
        blocked_status: int = 403,
    ) -> None:
        self.ips: dict[bytes, _Stats] = {}
        self.keys: dict[bytes, _Stats] = {}
        self.lines = 0
        self.parsed = 0
        self.dropped: set[bytes] = set()
        self.dropped_count = 0
        self.db_failures: dict[str, int] = {}
        self._since = since_minute if since_minute is not None else -(1 << 62)
        self._max = max_clients
        self._refused = b"%03d" % blocked_status
        self._minutes: dict[tuple[bytes, bytes], int | None] = {}
        self._unusual: dict[bytes, bool] = {}
        self._fingerprints: dict[bytes, bytes] = {}  # raw key -> fingerprint (the fast path)
        self._bare_verdicts: dict[bytes, bool] = {}  # bare path -> probe? (the fast path)
        self._start: int | None = None
        self._end: int | None = None

    def feed(self, records: Sequence[Record], lines: int) -> None:
        """Count ``lines`` lines and the features of their ``records`` (regex or JSON path)."""
        minute_of, since = self._minute_of, self._since
        kept = [r for r in records if _within(minute_of(r[2], r[4]), since)]
        served = {r[0]: (r[2], r[4], r[3]) for r in kept if r[7] != self._refused}
        self.feed_columns(
            (
                Counter((r[0], r[2], r[4]) for r in kept),
                Counter((r[0], r[1], r[6], r[7]) for r in kept),
                Counter((r[0], r[8]) for r in kept),
                served,
                lines,
            ),
            parsed=len(kept),
        )

    def feed_chunk(self, chunk: bytes) -> None:
        """Count a chunk of whole lines: the columnar fast path when it is regular combined
        format within the window, else the regular expression (and JSON lines)."""
        cols = columns(chunk, self._refused)
        if cols is not None:
            first = next(iter(cols[0]))
            t = self._minute_of(first[1], first[2])
            if t is not None and t >= self._since:
                self.feed_columns(cols)
                return
        self.feed(*parse_chunk(chunk))

    def _minute_of(self, stamp: bytes, zone: bytes) -> int | None:
        t = self._minutes.get((stamp, zone), -1)
        if t == -1:
            t = self._minutes[(stamp, zone)] = epoch_minute(stamp, zone)
        return t

    def feed_columns(self, cols: Columns, parsed: int | None = None) -> None:
        """Merge the counts of one chunk (see :mod:`opslib.security._columns`)."""
        per_minute, per_path, agents, served, lines = cols
        self.lines += lines
        self.parsed += lines if parsed is None else parsed
        self._merge_minutes(per_minute)
        self._merge_paths(per_path)
        self._merge_agents(agents)
        for ip, (stamp, zone, second) in served.items():
            st = self._get(ip)
            t = self._minute_of(stamp, zone)
            if t is not None and second.isdigit():
                st.last_ok = max(st.last_ok, t * 60 + int(second))

    def _merge_minutes(self, per_minute: Counter[tuple[bytes, bytes, bytes]]) -> None:
        minute_of, ips = self._minute_of, self.ips
        start, end = self._start, self._end
        for (ip, stamp, zone), n in per_minute.items():
            t = minute_of(stamp, zone)
            if t is None:
                continue
            if start is None or t < start:
                start = t
            if end is None or t > end:
                end = t
            st = ips.get(ip)
            if st is None:
                st = self._new_ip(ip, t)
            if t > st.cur:
                st.close_minute(t)
            st.last = max(st.last, t)
            st.cur_n += n
        self._start, self._end = start, end

    def _merge_paths(self, per_path: Counter[tuple[bytes, bytes, bytes, bytes]]) -> None:
        unusual_cache, _ips = self._unusual, self.ips
        for (ip, user, path, status), n in per_path.items():
            st = self._get(ip)
            st.requests += n
            bad = status[0] >= 52  # "4" or "5"
            if bad:
                st.errors += n
                if status in (b"401", b"403"):
                    st.auth += n
            if not st.paths_over:
                query = path.find(b"?")
                bare = path if query < 0 else path[:query]
                if bare not in st.paths:
                    if len(st.paths) >= PATHS_KEPT:
                        st.paths_over = True
                    else:
                        st.paths.add(bare)
            odd = unusual_cache.get(path)
            if odd is None:
                odd = self._probe(path)
            if odd:
                st.unusual += n
                if status[0] == 50:  # 2xx: the probe got an answer
                    st.sensitive_ok += n
                if len(st.samples) < SAMPLES_KEPT and path[:200] not in st.samples:
                    st.samples.append(path[:200])
            if user != b"-" or b"=" in path:
                self._key(ip, user, path, n=n, bad=bad, status=status, ip_st=st)

    def _merge_agents(self, per_agent: Counter[tuple[bytes, bytes]]) -> None:
        for (ip, agent), n in per_agent.items():
            st = self._get(ip)
            agents = st.agents
            if agent in agents:
                agents[agent] += n
            elif len(agents) < AGENTS_KEPT:
                agents[agent] = n
                if _TOOLS.search(agent):
                    st.tools += 1

    def _probe(self, path: bytes) -> bool:
        """Whether ``path`` is a probe; judged once per path (and per bare path when its query
        values are plain words), remembered in a bounded cache."""
        cache = self._unusual
        if len(cache) > 200_000:
            cache.clear()
        if _PLAIN.fullmatch(path) is not None:
            query = path.find(b"?")
            bare = path if query < 0 else path[:query]
            odd = cache.get(bare)
            if odd is None:
                odd = cache[bare] = _UNUSUAL.search(bare) is not None
        else:
            odd = _UNUSUAL.search(path) is not None
        cache[path] = odd
        return odd

    def _get(self, ip: bytes) -> _Stats:
        found = self.ips.get(ip)
        return found if found is not None else self._new_ip(ip, self._end or 0)

    def _new_ip(self, ip: bytes, t: int) -> _Stats:
        if len(self.ips) >= self._max:
            self.dropped_count += 1
            if len(self.dropped) < self._max:
                self.dropped.add(ip)
            ip = b"(other)"
            found = self.ips.get(ip)
            if found is not None:
                return found
        st = self.ips[ip] = _Stats(t)
        return st

    def _key(
        self,
        ip: bytes,
        user: bytes,
        path: bytes,
        *,
        n: int,
        bad: bool,
        status: bytes,
        ip_st: _Stats,
    ) -> None:
        raw = user if user != b"-" else None
        if raw is None:
            found = _KEY_PARAM.search(path)
            if found is None:
                return
            raw = found.group(1)
        fp = fingerprint(raw).encode()
        st = self.keys.get(fp)
        if st is None:
            if len(self.keys) >= self._max:
                return
            st = self.keys[fp] = _Stats(ip_st.first)
            st.cur = ip_st.cur
        st.last = max(st.last, ip_st.last)  # bursts are judged per address, not per key
        st.requests += n
        if bad:
            st.errors += n
            if status in (b"401", b"403"):
                st.auth += n
        if len(st.others) < 64:
            st.others.add(ip)
        if len(ip_st.others) < 64:
            ip_st.others.add(fp)

    def add_db_failures(self, failures: dict[str, int]) -> None:
        """PostgreSQL authentication failures per client address."""
        for ip, n in failures.items():
            self.db_failures[ip] = self.db_failures.get(ip, 0) + n

    def result(
        self, policy: Policy, sources: Sequence[str] = (), notes: Sequence[str] = ()
    ) -> Analysis:
        """The analysis so far: every client's report, suspects ranked by score."""
        first, last = self._start, self._end
        start = end = None
        window = 0.0
        if first is not None and last is not None:
            start, end = _at(first), _at(last + 1)
            window = max(60.0, (last + 1 - first) * 60.0)
        with no_collection():
            ips = [self._report("ip", ip, st, window, policy) for ip, st in self.ips.items()]
        for ip, n in self.db_failures.items():
            key = ip.encode()
            if key not in self.ips:
                ips.append(_db_only(ip, n, window, policy))
        keys = [self._report("key", fp, st, window, policy) for fp, st in self.keys.items()]
        ips.sort(key=lambda r: (-r.requests, r.client))
        keys.sort(key=lambda r: (-r.requests, r.client))
        suspects = sorted(
            (r for r in (*ips, *keys) if r.score > 0), key=lambda r: (-r.score, -r.requests)
        )
        return Analysis(
            lines=self.lines,
            parsed=self.parsed,
            start=start,
            end=end,
            clients=tuple(ips),
            keys=tuple(keys),
            suspects=tuple(suspects),
            clients_dropped=self.dropped_count and len(self.dropped),
            sources=tuple(sources),
            notes=tuple(notes),
        )

    def _report(
        self, kind: str, name: bytes, st: _Stats, window: float, policy: Policy
    ) -> ClientReport:
        peak, baseline = max(st.peak, st.cur_n), st.baseline
        text = name.decode("utf-8", "replace")
        db = self.db_failures.get(text, 0) if kind == "ip" else 0
        report = _report(
            kind=kind,
            client=text,
            requests=st.requests,
            errors=st.errors,
            auth_failures=st.auth,
            distinct_paths=len(st.paths),
            distinct_paths_capped=st.paths_over,
            unusual_paths=st.unusual,
            sensitive_successes=st.sensitive_ok,
            samples=tuple(_show(p) for p in st.samples),
            user_agents=tuple(
                _show(a) for a, _n in sorted(st.agents.items(), key=lambda kv: -kv[1])
            ),
            tool_agents=st.tools,
            peak_per_minute=peak,
            baseline_per_minute=max(baseline, 0.0),
            first_seen=_at(st.first),
            last_seen=_at(st.last + 1),
            last_served=datetime.fromtimestamp(st.last_ok, UTC) if st.last_ok >= 0 else None,
            related=_texts(st.others),
            window_seconds=window,
            db_auth_failures=db,
        )
        return _judge(report, policy)


@contextmanager
def no_collection() -> Iterator[None]:
    """No garbage collection within: for steps that make many containers and free none (a
    collection meanwhile would only walk the analyzer's state)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _report(**fields: Any) -> ClientReport:
    """``ClientReport(**fields)`` without the frozen dataclass's per-field ``__setattr__``
    (a third of :meth:`Analyzer.result` on a log of 20,000 clients)."""
    report: ClientReport = object.__new__(ClientReport)
    report.__dict__.update(_REPORT_DEFAULTS)
    report.__dict__.update(fields)
    return report


def _within(minute: int | None, since: int) -> bool:
    return minute is not None and minute >= since


def _texts(items: set[bytes]) -> tuple[str, ...]:
    """The items as text, sorted (ASCII, the usual case, decoded in one call)."""
    joined = b"\n".join(sorted(items))
    if items and joined.isascii() and joined.count(b"\n") == len(items) - 1:
        return tuple(joined.decode("ascii").split("\n"))
    return tuple(sorted(o.decode("utf-8", "replace") for o in items))


@lru_cache(maxsize=65_536)
def _show(raw: bytes) -> str:
    """Printable text of a logged value (not UTF-8: replaced; a key in a query: masked)."""
    if b"=" in raw:
        raw = _KEY_PARAM.sub(lambda m: m.group(0).replace(m.group(1), b"***"), raw)
    text = raw[:200].decode("utf-8", "replace")
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else "?" for c in text)


@lru_cache(maxsize=65_536)
def _at(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, UTC)


def _db_only(ip: str, failures: int, window: float, policy: Policy) -> ClientReport:
    now = datetime.now(UTC)
    report = ClientReport(
        kind="ip", client=ip, requests=0, errors=0, auth_failures=0, distinct_paths=0,
        distinct_paths_capped=False, unusual_paths=0, sensitive_successes=0, samples=(),
        user_agents=(), tool_agents=0, peak_per_minute=0, baseline_per_minute=0.0,
        first_seen=now, last_seen=now, last_served=None, related=(), window_seconds=window,
        db_auth_failures=failures,
    )  # fmt: skip
    return _judge(report, policy)


def _judge(report: ClientReport, policy: Policy) -> ClientReport:
    score = 0.0
    reasons: list[str] = []
    r = report
    if r.requests >= policy.min_requests and r.rate > policy.rate:
        score += 2 + min(r.rate / policy.rate, 10) / 2
        reasons.append(f"{r.rate:.1f} requests/s (limit {policy.rate:g})")
    if r.auth_failures_per_minute > policy.auth_per_minute or (
        r.window_seconds and 60.0 * r.db_auth_failures / r.window_seconds > policy.auth_per_minute
    ):
        score += 3 + min(r.auth_failures_per_minute / policy.auth_per_minute, 10) / 2
        db = f", {r.db_auth_failures} at the database" if r.db_auth_failures else ""
        reasons.append(
            f"{r.auth_failures} authentication failures"
            f" ({r.auth_failures_per_minute:.1f}/min, limit {policy.auth_per_minute:g}){db}"
        )
    if r.requests >= policy.min_requests and r.error_share > policy.error_share:
        score += 1
        reasons.append(f"{r.error_share:.0%} of its requests failed")
    if r.unusual_paths >= policy.unusual or r.sensitive_successes:
        score += 2 + min(r.unusual_paths, 100) / 20 + 3 * bool(r.sensitive_successes)
        shown = ", ".join(r.samples[:3])
        ok = f", {r.sensitive_successes} answered 2xx" if r.sensitive_successes else ""
        reasons.append(f"{r.unusual_paths} requests to sensitive/probe paths{ok} ({shown})")
    if r.distinct_paths >= policy.distinct_paths:
        score += 1
        more = "+" if r.distinct_paths_capped else ""
        reasons.append(f"{r.distinct_paths}{more} distinct paths")
    if r.peak_per_minute >= policy.burst_min and r.peak_per_minute >= policy.burst_factor * max(
        r.baseline_per_minute, 1.0
    ):
        score += 1
        reasons.append(
            f"burst of {r.peak_per_minute}/min against its baseline {r.baseline_per_minute:.1f}/min"
        )
    if r.tool_agents:
        score += 1
        tool = next((a for a in r.user_agents if _TOOLS.search(a.encode())), r.user_agents[0])
        reasons.append(f"attack-tool user agent ({tool})")
    if len(r.user_agents) >= AGENTS_KEPT and r.requests >= policy.min_requests:
        score += 0.5
        reasons.append(f"{len(r.user_agents)}+ user agents (rotating)")
    if not reasons:
        return r
    why = reasons[0].split(" (")[0]
    if r.kind == "ip":
        action = f"opslib security block {r.client} --for {policy.block_for} --reason {_quote(why)}"
    else:
        ips = " ".join(r.related[:3])
        action = f"rotate or revoke API key {r.client}; block its sources: {ips}".rstrip(": ")
    return _report(**{**r.__dict__, "score": score, "reasons": tuple(reasons), "action": action})


def _quote(text: str) -> str:
    return "'" + text.replace("'", "") + "'"


def iter_records(chunks: Iterable[tuple[list[Record], int]]) -> Iterator[tuple[list[Record], int]]:
    """Pass-through, for symmetry with the readers."""
    yield from chunks
