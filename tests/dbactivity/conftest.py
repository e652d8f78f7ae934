"""Real sessions for the activity tests: a blocker holding a row lock, writers blocked behind it,
long queries; every connection opened here is closed after the test."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import LiteralString

import psycopg
import pytest
from psycopg import sql

from opslib.lab._postgres import PostgresCluster
from tests.dbkit import TestDatabase


@dataclass
class Sessions:
    """Connections of a test, and the threads running statements that block."""

    dsn: str
    conns: list[psycopg.Connection[tuple[object, ...]]] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    def open(
        self, *, autocommit: bool = True, application: str = "opslib-test", dsn: str | None = None
    ) -> psycopg.Connection[tuple[object, ...]]:
        conn = psycopg.connect(dsn or self.dsn, autocommit=autocommit,
                               application_name=application)  # fmt: skip
        self.conns.append(conn)
        return conn

    def background(
        self, conn: psycopg.Connection[tuple[object, ...]], query: LiteralString | sql.Composed
    ) -> None:
        """Run ``query`` on ``conn`` in a thread (it may block); errors are kept."""

        def run() -> None:
            try:
                conn.execute(query)
            except psycopg.Error as exc:
                self.errors.append(exc)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self.threads.append(thread)

    def blocker(self, table: str = "lockme", *, dsn: str | None = None) -> int:
        """A session holding row 1 of ``table`` in an open transaction; its PID."""
        conn = self.open(autocommit=False, application="test-blocker", dsn=dsn)
        conn.execute(sql.SQL("UPDATE {} SET n = n + 1 WHERE id = 1").format(sql.Identifier(table)))
        return conn.info.backend_pid

    def blocked_writer(self, table: str = "lockme") -> int:
        """A session whose UPDATE of row 1 waits for the blocker; its PID."""
        conn = self.open(application="test-blocked")
        self.background(
            conn, sql.SQL("UPDATE {} SET n = n + 1 WHERE id = 1").format(sql.Identifier(table))
        )
        return conn.info.backend_pid

    def close(self) -> None:
        for conn in self.conns:
            if not conn.closed:
                conn.cancel_safe(timeout=2)
        for conn in self.conns:
            conn.close()
        for thread in self.threads:
            thread.join(timeout=10)


@pytest.fixture
def lockable(platform_db: TestDatabase) -> TestDatabase:
    """``platform_db`` with a table ``lockme(id, n)`` holding one row."""
    platform_db.execute("CREATE TABLE lockme (id int PRIMARY KEY, n int NOT NULL DEFAULT 0)")
    platform_db.execute("INSERT INTO lockme (id) VALUES (1)")
    return platform_db


@pytest.fixture
def sessions(platform_db: TestDatabase) -> Iterator[Sessions]:
    """Open connections to ``platform_db``; all closed after the test."""
    opened = Sessions(platform_db.dsn)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def plain_role_dsn(pg_cluster: PostgresCluster, lockable: TestDatabase) -> Iterator[str]:
    """The DSN of a login role that is not a superuser, allowed to update ``lockme``."""
    role = f"plain_{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    ident = sql.Identifier(role)
    lockable.execute(
        sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(ident, sql.Literal(password))
    )
    lockable.execute(sql.SQL("GRANT SELECT, UPDATE ON lockme TO {}").format(ident))
    dsn = lockable.dsn.replace(f"user={pg_cluster.user}", f"user={role}").replace(
        f"password={pg_cluster.password}", f"password={password}"
    )
    try:
        yield dsn
    finally:
        lockable.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,)
        )
        lockable.execute(sql.SQL("DROP OWNED BY {}").format(ident))
        lockable.execute(sql.SQL("DROP ROLE {}").format(ident))
