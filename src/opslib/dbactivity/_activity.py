"""Who is connected and what they do: ``pg_stat_activity`` with ages, waits and blockers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, LiteralString

from opslib.adapters import Database

__all__ = ["Activity", "Session", "read_activity"]

# One round trip. pg_blocking_pids() takes the lock manager's locks, so it is asked only for
# sessions waiting on a lock (the others block on nothing a lock could show).
_SESSIONS: LiteralString = """
SELECT a.pid, a.datname, a.usename, a.application_name, a.client_addr::text AS client,
       a.backend_type, coalesce(a.state, '') AS state, a.wait_event_type, a.wait_event,
       left(coalesce(a.query, ''), %(query_chars)s) AS query,
       extract(epoch FROM s.now - a.query_start)::float8 AS query_seconds,
       extract(epoch FROM s.now - a.xact_start)::float8 AS xact_seconds,
       extract(epoch FROM s.now - a.state_change)::float8 AS state_seconds,
       CASE WHEN a.wait_event_type = 'Lock' THEN pg_blocking_pids(a.pid)
            ELSE '{}'::int[] END AS blocked_by,
       coalesce(r.rolsuper, false) AS superuser
FROM pg_stat_activity a
CROSS JOIN (SELECT clock_timestamp() AS now) s
LEFT JOIN pg_roles r ON r.oid = a.usesysid
ORDER BY a.pid
"""
_SERVER: LiteralString = """
SELECT current_setting('max_connections')::int AS max_connections,
       current_setting('superuser_reserved_connections')::int AS reserved,
       pg_backend_pid() AS own_pid, current_database() AS database
"""


@dataclass(frozen=True)
class Session:
    """One server process as ``pg_stat_activity`` shows it; ages in seconds (None: not set)."""

    pid: int
    database: str | None
    user: str | None
    application: str
    client: str | None
    backend_type: str
    state: str
    wait_event_type: str | None
    wait_event: str | None
    query: str
    query_seconds: float | None
    xact_seconds: float | None
    state_seconds: float | None
    blocked_by: tuple[int, ...]
    superuser: bool

    @property
    def client_backend(self) -> bool:
        """A client's session (not autovacuum, a WAL sender or another background process)."""
        return self.backend_type == "client backend"

    @property
    def active(self) -> bool:
        return self.state == "active"

    @property
    def idle_in_transaction(self) -> bool:
        return self.state.startswith("idle in transaction")

    @property
    def waiting(self) -> bool:
        """Blocked by another session's lock."""
        return bool(self.blocked_by)

    @property
    def wait(self) -> str:
        """``Lock:transactionid``, or "" when not waiting on anything."""
        if not self.wait_event_type:
            return ""
        return f"{self.wait_event_type}:{self.wait_event or ''}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "database": self.database,
            "user": self.user,
            "application": self.application,
            "client": self.client,
            "backend_type": self.backend_type,
            "state": self.state,
            "wait": self.wait,
            "query": self.query,
            "query_seconds": _round(self.query_seconds),
            "xact_seconds": _round(self.xact_seconds),
            "state_seconds": _round(self.state_seconds),
            "blocked_by": list(self.blocked_by),
            "superuser": self.superuser,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


@dataclass(frozen=True)
class Activity:
    """Every session of the server at one moment, and the connection limit."""

    sessions: tuple[Session, ...]
    max_connections: int
    reserved_connections: int
    own_pid: int
    database: str
    _by_pid: dict[int, Session] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_pid", {s.pid: s for s in self.sessions})

    def session(self, pid: int) -> Session | None:
        """The session with ``pid``, if any."""
        return self._by_pid.get(pid)

    @property
    def clients(self) -> tuple[Session, ...]:
        """Client sessions (what ``max_connections`` counts), opslib's own included."""
        return tuple(s for s in self.sessions if s.client_backend)

    @property
    def connections_used(self) -> float:
        """Client sessions as a share of ``max_connections``."""
        return len(self.clients) / self.max_connections if self.max_connections else 0.0

    @property
    def others(self) -> tuple[Session, ...]:
        """Client sessions other than opslib's own."""
        return tuple(s for s in self.clients if s.pid != self.own_pid)

    def blocked(self) -> tuple[Session, ...]:
        """Sessions waiting for another's lock."""
        return tuple(s for s in self.sessions if s.waiting)

    def blocking(self, pid: int) -> tuple[Session, ...]:
        """Sessions that ``pid`` blocks directly."""
        return tuple(s for s in self.sessions if pid in s.blocked_by)

    def roots(self) -> tuple[Session, ...]:
        """Sessions that block others and wait for no one: where a lock queue starts."""
        blockers = {p for s in self.sessions for p in s.blocked_by}
        return tuple(
            s for s in self.sessions if s.pid in blockers and not s.waiting
        ) or tuple(  # a deadlock cycle has no root: show its members
            self._by_pid[p] for p in sorted(blockers) if p in self._by_pid
        )

    def tree(self) -> Iterator[tuple[int, Session]]:
        """The blocking tree, depth first: (depth, session), each root at depth 0."""
        seen: set[int] = set()

        def walk(session: Session, depth: int) -> Iterator[tuple[int, Session]]:
            if session.pid in seen:
                return
            seen.add(session.pid)
            yield depth, session
            for child in self.blocking(session.pid):
                yield from walk(child, depth + 1)

        for root in self.roots():
            yield from walk(root, 0)

    def blocked_count(self, pid: int) -> int:
        """How many sessions wait behind ``pid``, directly or not."""
        return sum(1 for depth, _s in self._subtree(pid) if depth > 0)

    def _subtree(self, pid: int) -> Iterator[tuple[int, Session]]:
        root = self._by_pid.get(pid)
        if root is None:
            return
        seen: set[int] = set()
        stack = [(0, root)]
        while stack:
            depth, session = stack.pop()
            if session.pid in seen:
                continue
            seen.add(session.pid)
            yield depth, session
            stack.extend((depth + 1, child) for child in self.blocking(session.pid))


def read_activity(db: Database, *, query_chars: int = 2000) -> Activity:
    """Every session of the server now (``pg_stat_activity``; two short queries).

    A role without ``pg_read_all_stats`` sees other roles' sessions without their query text.
    """
    server = db.fetch_one(_SERVER)
    assert server is not None
    rows = db.fetch_all(_SESSIONS, {"query_chars": query_chars})
    sessions = tuple(
        Session(
            pid=int(r["pid"]),
            database=r["datname"],
            user=r["usename"],
            application=r["application_name"] or "",
            client=r["client"],
            backend_type=r["backend_type"] or "",
            state=r["state"],
            wait_event_type=r["wait_event_type"],
            wait_event=r["wait_event"],
            query=r["query"],
            query_seconds=r["query_seconds"],
            xact_seconds=r["xact_seconds"],
            state_seconds=r["state_seconds"],
            blocked_by=tuple(int(p) for p in r["blocked_by"] or ()),
            superuser=bool(r["superuser"]),
        )
        for r in rows
    )
    return Activity(
        sessions=sessions,
        max_connections=int(server["max_connections"]),
        reserved_connections=int(server["reserved"]),
        own_pid=int(server["own_pid"]),
        database=str(server["database"]),
    )
