"""PostgreSQL adapter: one lazily opened connection, bounded by connect and statement timeouts.

The DSN goes in and never comes back out: the libpq tools (``pg_dump``, ``pg_restore``,
``psql``) are started here with the password in their environment, and a connection to another
database of the same server (a restore drill's scratch database) is opened here too.
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, LiteralString, Protocol, Self

import psycopg
from psycopg import conninfo, sql
from psycopg.rows import dict_row
from pydantic import SecretStr
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from opslib.errors import ConfigError, DataError, DependencyError, UnreachableError
from opslib.redact import redact

__all__ = ["Database", "Query", "Row", "RowSource"]

Row = dict[str, Any]
"""One result row: column name -> value."""
Query = LiteralString | sql.SQL | sql.Composed
"""A query opslib accepts: a literal string or a psycopg ``sql`` composition (never an f-string)."""
_NAME = "postgresql"
_PR_SET_PDEATHSIG = 1
# Failures that a retry cannot cure: a wrong password or role, a missing database, no
# pg_hba.conf entry, a malformed DSN. libpq reports them before any SQLSTATE exists, so the
# server's message text is all there is to go by.
_PERMANENT = re.compile(
    r"password authentication failed|authentication failed|no password supplied"
    r"|role \S+ does not exist|database \S+ does not exist|no pg_hba\.conf entry"
    r"|invalid (connection option|dsn|integer value)|could not translate host name"
    r"|SSL is not enabled|certificate",
    re.I,
)


class RowSource(Protocol):
    """The read side of :class:`Database` that domain code needs."""

    def fetch_all(
        self, query: LiteralString, params: dict[str, Any] | None = None
    ) -> list[Row]: ...


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, psycopg.OperationalError) and not _PERMANENT.search(str(exc))


class Database:
    """A PostgreSQL database reached by DSN; every psycopg error leaves as an OpsError.

    Opening the connection is retried on transient errors (refused, reset, the server starting
    up) for at most ``connect_timeout`` seconds in all; a wrong password or a missing database
    fails at once.
    """

    def __init__(
        self,
        dsn: str | SecretStr,
        *,
        connect_timeout: float = 3.0,
        statement_timeout: float = 15.0,
        application_name: str = "opslib",
    ) -> None:
        self._dsn = dsn if isinstance(dsn, SecretStr) else SecretStr(dsn)
        self._connect_timeout = max(1.0, connect_timeout)
        self._statement_timeout = statement_timeout
        self._application_name = application_name
        self._conn: psycopg.Connection[Row] | None = None

    def __repr__(self) -> str:
        return f"Database({redact(self._dsn.get_secret_value())!r})"

    @property
    def target(self) -> str:
        """Where the database is, for reports: ``host:port/dbname``, no user or password."""
        try:
            params = self._params()
        except ConfigError:
            return "(unreadable DSN)"
        host = str(params.get("host") or params.get("hostaddr") or "local socket")
        port = f":{params['port']}" if params.get("port") else ""
        return f"{host}{port}/{params.get('dbname', '')}"

    @property
    def name(self) -> str:
        """The database's name as the DSN gives it ("" when libpq's default applies)."""
        return str(self._params().get("dbname", ""))

    def connection(self) -> psycopg.Connection[Row]:
        """The open connection (autocommit), opened on first use and after a break."""
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = self._open()
        return self._conn

    def _open(self) -> psycopg.Connection[Row]:
        retrying = Retrying(
            retry=retry_if_exception(_transient),
            stop=stop_after_delay(self._connect_timeout) | stop_after_attempt(20),
            wait=wait_exponential(multiplier=0.1, max=1.0),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return psycopg.connect(
                        self._dsn.get_secret_value(),
                        autocommit=True,
                        row_factory=dict_row,
                        connect_timeout=max(1, round(self._connect_timeout)),
                        application_name=self._application_name,
                        options=f"-c statement_timeout={int(self._statement_timeout * 1000)}",
                    )
        except psycopg.Error as exc:
            raise UnreachableError(_NAME, self._located(self._one_line(exc))) from exc
        raise AssertionError("unreachable: tenacity re-raises the last error")

    def _located(self, message: str) -> str:
        """``message`` naming the server (libpq's "connection timeout expired" does not)."""
        where = self.target
        host = where.split("/")[0].rsplit(":", 1)[0] if "/" in where else where
        return message if host and host in message else f"{where}: {message}"

    def open(
        self,
        database: str | None = None,
        *,
        statement_timeout: float | None = None,
        application_name: str | None = None,
    ) -> Database:
        """A new :class:`Database` on the same server with the same credentials: the same
        database (a second connection) or ``database``; close it when done."""
        params = self._params()
        if database is not None:
            params["dbname"] = database
        return Database(
            SecretStr(conninfo.make_conninfo("", **params)),
            connect_timeout=self._connect_timeout,
            statement_timeout=(
                self._statement_timeout if statement_timeout is None else statement_timeout
            ),
            application_name=application_name or self._application_name,
        )

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

    def execute_many(
        self, query: Query, params_seq: Iterable[Sequence[Any] | dict[str, Any]]
    ) -> None:
        """Run a statement once per parameter set (in a pipeline)."""
        with self._translate(), self.connection().cursor() as cur:
            cur.executemany(query, params_seq)

    def execute_script(self, text: str) -> None:
        """Run several statements (a migration file) in one round trip."""
        with self._translate():
            self.connection().execute(text.encode())

    def copy_rows(self, statement: Query, rows: Iterable[Sequence[Any]]) -> None:
        """``COPY ... FROM STDIN``: stream ``rows`` into the table ``statement`` names."""
        with self._translate(), self.connection().cursor() as cur, cur.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A transaction: every call on this Database inside the block is part of it (they
        share one connection); committed at the end, rolled back if the block raises.
        Blocks nest (as savepoints)."""
        conn = self.connection()
        with self._translate(), conn.transaction():
            yield

    def spawn_client(
        self, tool: Path, args: Sequence[str], *, text: bool = False
    ) -> subprocess.Popen[Any]:
        """Start a libpq tool (``pg_dump``, ``pg_restore``, ``psql``) connected to this database.

        The connection string goes to ``--dbname`` without the password, which travels in
        ``PGPASSWORD`` (never argv, where ``ps`` shows it). stdin and stdout are closed, stderr
        is a pipe; Linux kills the tool when this process dies.
        """
        params = self._params()
        password = params.pop("password", None)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LC_ALL": "C",
            "PGCONNECT_TIMEOUT": str(params.pop("connect_timeout", None) or 10),
        }
        if password is not None:
            env["PGPASSWORD"] = str(password)
        dbname = conninfo.make_conninfo("", **{k: str(v) for k, v in params.items()})
        try:
            return subprocess.Popen(
                [str(tool), "--dbname", dbname, *args],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=text,
                errors="replace" if text else None,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - a prctl only, no locks taken
            )
        except OSError as exc:
            raise ConfigError(f"{tool} cannot be run: {exc.strerror or exc}") from exc

    def tool_failure(self, tool: str, stderr: str) -> DependencyError:
        """One line from a failed tool's stderr, secrets masked."""
        lines = [ln.strip() for ln in stderr.strip().splitlines() if ln.strip()]
        errors = [ln for ln in lines if "error" in ln.lower()] or lines
        detail = errors[-1] if errors else "failed without a message"
        detail = re.sub(rf"^{re.escape(tool)}:\s*(error:\s*)?", "", detail)
        return DependencyError(tool, self.redact(detail))

    def redact(self, text: str) -> str:
        """``text`` with this database's password (and any other credentials) masked."""
        return redact(text, self._dsn.get_secret_value())

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _params(self) -> dict[str, Any]:
        try:
            return conninfo.conninfo_to_dict(self._dsn.get_secret_value())
        except psycopg.ProgrammingError as exc:
            raise ConfigError("database_dsn is not a valid connection string") from exc

    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except psycopg.errors.QueryCanceled as exc:
            raise DependencyError(
                _NAME, f"query cancelled (statement timeout {self._statement_timeout:g} s)"
            ) from exc
        except (psycopg.errors.DataError, psycopg.errors.IntegrityError) as exc:
            raise DataError(f"{_NAME}: {self._one_line(exc)}") from exc
        except psycopg.OperationalError as exc:
            raise UnreachableError(_NAME, self._one_line(exc)) from exc
        except psycopg.Error as exc:
            raise DependencyError(_NAME, self._one_line(exc)) from exc

    def _one_line(self, exc: BaseException) -> str:
        return self.redact(" ".join(str(exc).split()) or type(exc).__name__)


def _die_with_parent() -> None:
    """In the child: ask Linux to SIGKILL it when its parent dies (no orphaned pg_dump)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
