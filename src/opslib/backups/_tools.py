"""The PostgreSQL client tools matching the server: found, version-checked, run without secrets."""

from __future__ import annotations

import ctypes
import os
import re
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import conninfo

from opslib.adapters import Database
from opslib.config import BackupSettings
from opslib.errors import ConfigError, DataError, DependencyError
from opslib.redact import redact

__all__ = [
    "PgTools",
    "client_env",
    "die_with_parent",
    "find_tools",
    "list_archive",
    "server_major",
    "tool_failure",
    "tools_for",
]

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)")
_PG_ROOT = Path("/usr/lib/postgresql")
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class PgTools:
    """``pg_dump`` and ``pg_restore`` of the server's major version."""

    pg_dump: Path
    pg_restore: Path
    major: int


def server_major(db: Database) -> tuple[int, str]:
    """The server's major version and its full version string."""
    row = db.fetch_one(
        "SELECT current_setting('server_version_num')::int AS num,"
        " current_setting('server_version') AS version"
    )
    if row is None:
        raise DataError("postgresql: server version unknown")
    return int(row["num"]) // 10000, str(row["version"])


def tools_for(db: Database, settings: BackupSettings) -> PgTools:
    """The client tools matching ``db``'s server (``settings.pg_bin_dir`` if set)."""
    return find_tools(server_major(db)[0], settings.pg_bin_dir)


def find_tools(major: int, bin_dir: Path | None = None) -> PgTools:
    """The client tools for ``major`` in ``bin_dir`` (default /usr/lib/postgresql/<major>/bin).

    Raises ConfigError with one line when a tool is missing or of another major version.
    """
    folder = bin_dir if bin_dir is not None else _PG_ROOT / str(major) / "bin"
    found = []
    for name in ("pg_dump", "pg_restore"):
        path = folder / name
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ConfigError(
                f"{name} for PostgreSQL {major} not found in {folder}"
                " (install the matching client or set backups.pg_bin_dir)"
            )
        tool_major = _tool_major(path)
        if tool_major != major:
            raise ConfigError(
                f"{path} is PostgreSQL {tool_major}, the server is PostgreSQL {major}"
                " (set backups.pg_bin_dir to the matching binaries)"
            )
        found.append(path)
    return PgTools(pg_dump=found[0], pg_restore=found[1], major=major)


def _tool_major(path: Path) -> int | None:
    try:
        out = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"{path} cannot be run: {exc}") from exc
    match = _VERSION.search(out)
    return int(match[1]) if match else None


def client_env(dsn: str, dbname: str | None = None) -> tuple[str, dict[str, str]]:
    """A conninfo without the password, and an environment carrying it in ``PGPASSWORD``.

    The password never reaches a command line, where ``ps`` would show it.
    """
    try:
        params = conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise ConfigError("database_dsn is not a valid connection string") from exc
    password = params.pop("password", None)
    if dbname is not None:
        params["dbname"] = dbname
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LC_ALL": "C",
        "PGCONNECT_TIMEOUT": str(params.pop("connect_timeout", None) or 10),
    }
    if password is not None:
        env["PGPASSWORD"] = str(password)
    return conninfo.make_conninfo(**{k: str(v) for k, v in params.items()}), env


def list_archive(tools: PgTools, path: Path) -> tuple[int, str | None]:
    """``pg_restore --list``: the number of archive entries, or an error line."""
    try:
        result = subprocess.run(
            [str(tools.pg_restore), "--list", str(path)],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=300,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return 0, f"{path.name}: pg_restore --list did not finish in 300 s"
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or ["no message"]
        return 0, f"{path.name}: pg_restore --list failed: {lines[-1]}"
    return sum(1 for ln in result.stdout.splitlines() if ln and not ln.startswith(";")), None


def die_with_parent() -> None:
    """In the child: ask Linux to SIGKILL it when its parent dies (no orphaned pg_dump)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def tool_failure(tool: str, stderr: str, dsn: str) -> DependencyError:
    """One line from a failed tool's stderr, secrets masked."""
    lines = [ln.strip() for ln in stderr.strip().splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower()] or lines
    detail = errors[-1] if errors else "failed without a message"
    detail = re.sub(rf"^{re.escape(tool)}:\s*(error:\s*)?", "", detail)
    return DependencyError(tool, redact(detail, dsn))
