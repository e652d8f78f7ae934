"""The PostgreSQL client tools matching the server: found and version-checked.

They are run through :meth:`opslib.adapters.Database.spawn_client`, which holds the secret.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from opslib.adapters import Database
from opslib.config import BackupSettings
from opslib.errors import ConfigError, DataError

__all__ = [
    "PgTools",
    "find_tools",
    "list_archive",
    "read_archive",
    "server_major",
    "tools_for",
]

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)")
_PG_ROOT = Path("/usr/lib/postgresql")


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


def read_archive(tools: PgTools, path: Path, timeout: float = 6 * 3600.0) -> str | None:
    """Read the whole archive as a restore would (``pg_restore --file=/dev/null``: every data
    block decompressed, no database needed); an error line, or None when it reads to its end.

    ``pg_restore --list`` reads the table of contents only: a dump cut short after it lists
    fine and fails only at restore time.
    """
    try:
        result = subprocess.run(
            [str(tools.pg_restore), "--file", os.devnull, str(path)],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"{path.name}: pg_restore did not read it to its end in {timeout:g} s"
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or ["no message"]
        return f"{path.name}: unreadable archive: {lines[-1].removeprefix('pg_restore: ')}"
    return None


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
