"""The request rules the API enforces (``opslib security rules``): rate per key and per source,
denied paths and methods, required headers; versioned in ``opslib.security_versions`` with
one active version and rollback.

:class:`RequestRules` is the API's per-request gate: ``check_request`` answers allow, or deny
with a status (403, 429) and a reason. The active rules are read at most once per ``ttl``
seconds; the rates are counted in this process over a sliding window (the previous window's
count weighted by the share of it still inside, plus the current one), so memory holds two
counters per client seen in the last two windows.
"""

from __future__ import annotations

import fnmatch
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, Literal, TypeVar

from psycopg.types.json import Jsonb
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from opslib.adapters import Database
from opslib.config import Settings
from opslib.errors import InputError, OpsError
from opslib.results import CheckResult, Measurement, Table
from opslib.security._analysis import epoch_minute
from opslib.security._blocklist import parse_duration
from opslib.security._parse import iter_chunks, parse_chunk

__all__ = [
    "Decision",
    "DocumentVersion",
    "RequestRules",
    "RuleSet",
    "VersionStore",
    "check_rules_enforced",
    "diff_documents",
    "parse_assignments",
    "parse_rule_set",
    "plan_rules",
]

_log = logging.getLogger(__name__)
_M = TypeVar("_M", bound=BaseModel)

Kind = Literal["rules", "policy"]
_LOCK = 0x7365637673  # "secvs": one set or rollback at a time, across processes


class RuleSet(BaseModel):
    """One version of the request rules. A rate is requests per ``window_seconds`` (``None``:
    not limited); a denied path is a glob (``/admin*``, ``*.env``) matched against the path
    without the query; methods and header names are case-insensitive."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rate_per_key: int | None = Field(None, ge=1, description="requests per window per API key")
    rate_per_source: int | None = Field(
        None, ge=1, description="requests per window per source address"
    )
    window_seconds: float = Field(60.0, gt=0, le=86_400)
    denied_paths: tuple[str, ...] = ()
    denied_methods: tuple[str, ...] = ()
    required_headers: tuple[str, ...] = ()
    exempt_paths: tuple[str, ...] = Field(("/health",), description="never denied nor counted")

    @cached_property
    def compiled(self) -> _Compiled:
        """The globs as one regular expression each, the methods as a set (built once)."""
        return _Compiled(
            _globs(self.exempt_paths), _globs(self.denied_paths), frozenset(self.denied_methods)
        )

    @field_validator("denied_methods")
    @classmethod
    def _methods(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        out = tuple(sorted({m.strip().upper() for m in value if m.strip()}))
        bad = [m for m in out if not m.isalpha()]
        if bad:
            raise ValueError(f"{bad[0]!r} is not an HTTP method")
        return out

    @field_validator("required_headers")
    @classmethod
    def _headers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        out = tuple(sorted({h.strip().lower() for h in value if h.strip()}))
        bad = [h for h in out if not all(c.isalnum() or c == "-" for c in h)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a header name")
        return out

    @field_validator("denied_paths", "exempt_paths")
    @classmethod
    def _paths(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        out = tuple(dict.fromkeys(p.strip() for p in value if p.strip()))
        bad = [p for p in out if not p.startswith(("/", "*"))]
        if bad:
            raise ValueError(f"{bad[0]!r}: a path starts with / (or a glob's *)")
        return out


@dataclass(frozen=True)
class _Compiled:
    exempt: re.Pattern[str] | None
    denied: re.Pattern[str] | None
    methods: frozenset[str]


def _globs(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    return re.compile("|".join(fnmatch.translate(p) for p in patterns)) if patterns else None


def parse_assignments(model: type[BaseModel], pairs: Iterable[str]) -> dict[str, Any]:
    """``KEY=VALUE`` arguments as fields of ``model``: lists comma-separated, an empty value
    clears the field (back to its default). InputError names the first bad one."""
    fields = model.model_fields
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise InputError(f"{pair!r}: expected KEY=VALUE")
        if key not in fields:
            raise InputError(f"{key!r}: unknown; known: {', '.join(sorted(fields))}")
        annotation = str(fields[key].annotation)
        value: Any = raw.strip()
        if "tuple" in annotation or "list" in annotation:
            value = [v.strip() for v in raw.split(",") if v.strip()]
        elif value == "":
            value = None
        out[key] = value
    return out


def diff_documents(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """One line per field that differs: ``key: old -> new``."""
    lines = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before != after:
            lines.append(f"{key}: {_show(before)} -> {_show(after)}")
    return lines


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value) or "(none)"
    return str(value)


@dataclass(frozen=True)
class DocumentVersion:
    """One stored version of the rules or the policy."""

    kind: str
    version: int
    body: dict[str, Any]
    actor: str
    created_at: datetime
    active: bool
    activated_at: datetime | None
    activated_by: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "kind": self.kind,
            "version": self.version,
            "body": self.body,
            "actor": self.actor,
            "created_at": self.created_at.isoformat(),
            "active": self.active,
            "activated_at": self.activated_at.isoformat() if self.activated_at else None,
            "activated_by": self.activated_by,
        }


_COLUMNS = "kind, version, body, actor, created_at, active, activated_at, activated_by"


class VersionStore:
    """The versions of one kind of document in ``opslib.security_versions``."""

    def __init__(self, db: Database, kind: Kind) -> None:
        self._db = db
        self.kind: Kind = kind

    def active(self) -> DocumentVersion | None:
        """The active version, or None before the first set."""
        row = self._db.fetch_one(
            "SELECT " + _COLUMNS + " FROM opslib.security_versions WHERE kind = %s AND active",
            (self.kind,),
        )
        return DocumentVersion(**row) if row else None

    def history(self) -> list[DocumentVersion]:
        """Every version, newest first."""
        rows = self._db.fetch_all(
            "SELECT " + _COLUMNS + " FROM opslib.security_versions"
            " WHERE kind = %s ORDER BY version DESC",
            (self.kind,),
        )
        return [DocumentVersion(**row) for row in rows]

    def add(self, body: Mapping[str, Any], *, actor: str) -> DocumentVersion:
        """Store ``body`` as the next version and make it the active one."""
        with self._db.transaction():
            self._deactivate()
            row = self._db.fetch_one(
                "INSERT INTO opslib.security_versions"
                " (kind, version, body, actor, active, activated_at, activated_by)"
                " SELECT %(kind)s, coalesce(max(version), 0) + 1, %(body)s, %(actor)s, true,"
                " now(), %(actor)s FROM opslib.security_versions WHERE kind = %(kind)s"
                " RETURNING " + _COLUMNS,
                {"kind": self.kind, "body": Jsonb(dict(body)), "actor": actor},
            )
        assert row is not None
        return DocumentVersion(**row)

    def _deactivate(self) -> None:
        """Inside a transaction: one change at a time, and no version active for now."""
        self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        self._db.execute(
            "UPDATE opslib.security_versions SET active = false WHERE kind = %s AND active",
            (self.kind,),
        )

    def rollback_target(self, to: int | None = None) -> DocumentVersion:
        """The version a rollback activates: ``to``, or the one before the active version."""
        versions = self.history()
        current = next((v for v in versions if v.active), None)
        if to is not None:
            found = next((v for v in versions if v.version == to), None)
            if found is None:
                raise InputError(f"{self.kind}: no version {to}")
            return found
        if current is None:
            raise InputError(f"{self.kind}: nothing set yet, nothing to roll back")
        earlier = [v for v in versions if v.version < current.version]
        if not earlier:
            raise InputError(f"{self.kind}: version {current.version} is the first one")
        return earlier[0]

    def activate(self, version: int, *, actor: str) -> DocumentVersion:
        """Make ``version`` the active one (the others are kept)."""
        with self._db.transaction():
            self._deactivate()
            row = self._db.fetch_one(
                "UPDATE opslib.security_versions SET active = true, activated_at = now(),"
                " activated_by = %s WHERE kind = %s AND version = %s RETURNING " + _COLUMNS,
                (actor, self.kind, version),
            )
            if row is None:
                raise InputError(f"{self.kind}: no version {version}")
        return DocumentVersion(**row)


def validated(model: type[_M], body: Mapping[str, Any], what: str) -> _M:
    """``body`` as a ``model``; InputError names the first problem (``what: field: why``)."""
    try:
        return model.model_validate(dict(body))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or what
        raise InputError(f"{what}: {where}: {first['msg']}") from None


def parse_rule_set(body: Mapping[str, Any]) -> RuleSet:
    """``body`` as a :class:`RuleSet`; InputError with the first problem."""
    return validated(RuleSet, body, "rules")


def plan_rules(current: DocumentVersion | None, pairs: Iterable[str]) -> RuleSet:
    """The rules after ``KEY=VALUE`` assignments (an empty value: back to the default) over
    the active version; InputError names what is wrong."""
    body = dict(current.body) if current else {}
    for key, value in parse_assignments(RuleSet, pairs).items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return parse_rule_set(body)


@dataclass(frozen=True)
class Decision:
    """What :meth:`RequestRules.check_request` says: allowed, or denied with ``status`` (403 a
    rule, 429 a rate) and ``reason``; ``version`` is the rules' version (0: none set)."""

    allowed: bool
    status: int = 200
    reason: str = ""
    version: int = 0


_ALLOW = Decision(True)


class _Window:
    """Sliding-window counts per client: (window start, previous count, current count)."""

    def __init__(self, max_clients: int) -> None:
        self.counts: dict[str, tuple[float, int, int]] = {}
        self.max_clients = max_clients

    def hit(self, client: str, now: float, window: float) -> float:
        start = now - now % window
        seen = self.counts.get(client)
        if seen is None or seen[0] < start - window:
            previous, current = 0, 0
        elif seen[0] < start:
            previous, current = seen[2], 0
        else:
            previous, current = seen[1], seen[2]
        current += 1
        if seen is None and len(self.counts) >= self.max_clients:
            self.counts = {c: v for c, v in self.counts.items() if v[0] >= start - window}
        self.counts[client] = (start, previous, current)
        return previous * (1 - (now - start) / window) + current


class RequestRules:
    """The API's request gate over the active rules in ``db``: call :meth:`check_request` for
    every request. Thread-safe; fails open (the last rules read, or none) when the database
    cannot be read, so an outage of opslib's database never takes the API down."""

    def __init__(
        self,
        db: Database | None,
        *,
        ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        rules: RuleSet | None = None,
        max_clients: int = 100_000,
    ) -> None:
        self._store = VersionStore(db, "rules") if db is not None else None
        self._ttl = ttl
        self._clock = clock
        self._current: tuple[RuleSet | None, int] = (rules, 0)  # replaced whole
        self._reloading = threading.Lock()
        self._loaded = -float("inf") if db is not None else float("inf")
        self._lock = threading.Lock()
        self._sources = _Window(max_clients)
        self._keys = _Window(max_clients)

    def rules(self) -> tuple[RuleSet | None, int]:
        """The rules in force and their version, reloaded when older than ``ttl``: by one
        thread, while the others go on with the rules they have (only the first load waits)."""
        now = self._clock()
        if now - self._loaded >= self._ttl and self._store is not None:
            first = self._loaded == -float("inf")
            if self._reloading.acquire(blocking=first):
                try:
                    if now - self._loaded >= self._ttl:
                        self._reload(now)
                finally:
                    self._reloading.release()
        return self._current

    def _reload(self, now: float) -> None:
        version = self._current[1]
        try:
            found = self._store.active() if self._store is not None else None
        except OpsError as exc:
            _log.warning("request rules not reloaded (kept version %s): %s", version, exc)
        else:
            if found is None:
                self._current = (None, 0)
            elif found.version != version:
                try:
                    self._current = (parse_rule_set(found.body), found.version)
                except InputError as exc:
                    _log.warning("request rules version %s ignored: %s", found.version, exc)
        self._loaded = now

    def check_request(
        self, method: str, path: str, source: str, key: str = "", headers: Iterable[str] = ()
    ) -> Decision:
        """Allow, or deny with the reason: a denied method or path, a missing header, the
        source's or the key's rate over its limit. ``path`` may carry a query (ignored);
        ``headers`` are the names the request has; ``key`` is never shown in a reason."""
        rules, version = self.rules()
        if rules is None:
            return _ALLOW
        bare = path.split("?", 1)[0]
        compiled = rules.compiled
        if compiled.exempt is not None and compiled.exempt.match(bare):
            return _ALLOW
        reason = _refused(rules, compiled, method.upper(), bare, headers)
        if reason:
            return Decision(False, 403, reason, version)
        reason = self._over_rate(rules, source, key)
        if reason:
            return Decision(False, 429, reason, version)
        return _ALLOW

    def _over_rate(self, rules: RuleSet, source: str, key: str) -> str:
        window = rules.window_seconds
        now = self._clock()
        with self._lock:
            limit = rules.rate_per_source
            if limit is not None and self._sources.hit(source, now, window) > limit:
                return f"rate per source over {limit} requests per {window:g} s"
            limit = rules.rate_per_key
            if limit is not None and key and self._keys.hit(key, now, window) > limit:
                return f"rate per key over {limit} requests per {window:g} s"
        return ""


def _refused(
    rules: RuleSet, compiled: _Compiled, method: str, path: str, headers: Iterable[str]
) -> str:
    if method in compiled.methods:
        return f"method {method} denied"
    if compiled.denied is not None and compiled.denied.match(path):
        denied = next(p for p in rules.denied_paths if fnmatch.fnmatchcase(path, p))
        return f"path {path} denied ({denied})"
    if rules.required_headers:
        present = {h.lower() for h in headers}
        missing = [h for h in rules.required_headers if h not in present]
        if missing:
            return f"header {missing[0]} required"
    return ""


_SOP = "emergency.security"
_GRACE = 2.0  # seconds past the rules' cache before a request must follow them


def check_rules_enforced(
    db: Database, settings: Settings, *, now: datetime | None = None
) -> CheckResult:
    """No request that the active rules deny by method or path was answered other than 403 in
    the access logs (``security.access_logs``), from ``security.cache_seconds`` after the rules
    were activated (at most ``security.window`` back): ``security.rules_bypassed``."""
    limit = settings.threshold("security.rules_bypassed")
    title = "the API enforces the request rules"
    found = VersionStore(db, "rules").active()
    if found is None or found.activated_at is None:
        return CheckResult(_SOP, title, (Measurement("rules_bypassed", 0, limit,
                                                     note="no request rules set"),))  # fmt: skip
    sec = settings.security
    if not sec.access_logs:
        return CheckResult.unknown(_SOP, title, "security.access_logs is not set: no log to read")
    rules = parse_rule_set(found.body)
    end = now or datetime.now(UTC)
    start = max(
        found.activated_at + timedelta(seconds=sec.cache_seconds + _GRACE),
        end - parse_duration(sec.window),
    )
    try:
        leaks = _bypassed(sec.access_logs, rules, int(start.timestamp()))
    except OSError as exc:
        return CheckResult.unknown(_SOP, title, f"access log unreadable: {exc.strerror or exc}")
    subject = f"rules version {found.version}"
    m = Measurement("rules_bypassed", sum(leaks.values()), limit, subject)
    remediation = ""
    if m.severity.rank:
        source = max(leaks, key=lambda k: leaks[k])[0]
        remediation = (
            f"opslib security patch {sec.service} --image IMAGE (a build whose requests go"
            f" through opslib.security.RequestRules.check_request); meanwhile opslib security"
            f" block {source} --reason 'request rules bypassed'"
        )
    rows = tuple(
        (ip, method, path, status, str(n))
        for (ip, method, path, status), n in sorted(leaks.items(), key=lambda kv: -kv[1])[:10]
    )
    table = Table(("source", "method", "path", "status", "requests"), rows, "denied yet served")
    return CheckResult(_SOP, title, (m,), remediation, tables=(table,) if rows else ())


def _bypassed(
    files: Iterable[Any], rules: RuleSet, since: int
) -> dict[tuple[str, str, str, str], int]:
    """(source, method, path, status) -> requests the rules deny answered other than 403."""
    compiled = rules.compiled
    leaks: dict[tuple[str, str, str, str], int] = {}
    for name in files:
        with open(name, "rb") as fh:
            for chunk in iter_chunks(fh):
                records, _lines = parse_chunk(chunk)
                for ip, _u, minute, second, zone, method, path, status, _a in records:
                    if status == b"403" or not method:
                        continue
                    at = epoch_minute(minute, zone)
                    if at is None or at * 60 + int(second or 0) < since:
                        continue
                    bare = path.split(b"?", 1)[0].decode("utf-8", "replace")
                    if compiled.exempt is not None and compiled.exempt.match(bare):
                        continue
                    verb = method.decode("ascii", "replace")
                    if verb in compiled.methods or (
                        compiled.denied is not None and compiled.denied.match(bare)
                    ):
                        key = (ip.decode("ascii", "replace"), verb, bare, status.decode())
                        leaks[key] = leaks.get(key, 0) + 1
    return leaks
