"""PostgreSQL adapter: one lazily opened connection, bounded by connect and statement timeouts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, LiteralString, Protocol

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from opslib.errors import DataError, DependencyError, UnreachableError
from opslib.redact import redact

__all__ = ["Database", "Query", "Row", "RowSource"]

Row = dict[str, Any]
Query = LiteralString | sql.SQL | sql.Composed
_NAME = "postgresql"


class RowSource(Protocol):
    """The read side of :class:`Database` that domain code needs."""

    def fetch_all(
        self, query: LiteralString, params: dict[str, Any] | None = None
    ) -> list[Row]: ...


class Database:
    """A PostgreSQL database reached by DSN; every psycopg error leaves as an OpsError."""

    def __init__(
        self,
        dsn: str,
        *,
        connect_timeout: float = 3.0,
        statement_timeout: float = 15.0,
        application_name: str = "opslib",
    ) -> None:
        self._dsn = dsn
        self._connect_timeout = max(1, round(connect_timeout))
        self._statement_ms = int(statement_timeout * 1000)
        self._application_name = application_name
        self._conn: psycopg.Connection[Row] | None = None

    def __repr__(self) -> str:
        return f"Database({redact(self._dsn)!r})"

    @property
    def dsn(self) -> str:
        """The DSN, secret included: pass it to libpq tools, never print it."""
        return self._dsn

    def connection(self) -> psycopg.Connection[Row]:
        """The open connection (autocommit), opened on first use and after a break."""
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = self._open()
        return self._conn

    def _open(self) -> psycopg.Connection[Row]:
        try:
            conn = psycopg.connect(
                self._dsn,
                autocommit=True,
                row_factory=dict_row,
                connect_timeout=self._connect_timeout,
                application_name=self._application_name,
                options=f"-c statement_timeout={self._statement_ms}",
            )
        except psycopg.Error as exc:
            raise UnreachableError(_NAME, self._one_line(exc)) from exc
        return conn

    def probe(self) -> str:
        """Connect and return the server version, or raise UnreachableError."""
        row = self.fetch_one("SELECT current_setting('server_version') AS version")
        return str(row["version"]) if row else "unknown"

    def fetch_all(
        self, query: Query, params: Sequence[Any] | dict[str, Any] | None = None
    ) -> list[Row]:
        """Run a query and return every row as a dict."""
        with self._translate():
            cur = self.connection().execute(query, params)
            return cur.fetchall() if cur.description else []

    def fetch_one(
        self, query: Query, params: Sequence[Any] | dict[str, Any] | None = None
    ) -> Row | None:
        """Run a query and return its first row, or None."""
        with self._translate():
            return self.connection().execute(query, params).fetchone()

    def execute(self, query: Query, params: Sequence[Any] | dict[str, Any] | None = None) -> int:
        """Run a statement; return the number of rows it touched."""
        with self._translate():
            return self.connection().execute(query, params).rowcount

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Row]]:
        """A transaction on the shared connection; rolled back if the block raises."""
        conn = self.connection()
        with self._translate(), conn.transaction():
            yield conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except psycopg.errors.QueryCanceled as exc:
            raise DependencyError(
                _NAME, f"query cancelled (statement timeout {self._statement_ms} ms)"
            ) from exc
        except (psycopg.errors.DataError, psycopg.errors.IntegrityError) as exc:
            raise DataError(f"{_NAME}: {self._one_line(exc)}") from exc
        except psycopg.OperationalError as exc:
            raise UnreachableError(_NAME, self._one_line(exc)) from exc
        except psycopg.Error as exc:
            raise DependencyError(_NAME, self._one_line(exc)) from exc

    def _one_line(self, exc: BaseException) -> str:
        text = " ".join(str(exc).split()) or type(exc).__name__
        return redact(text, self._dsn)
