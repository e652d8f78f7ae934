"""A private, throwaway PostgreSQL cluster for the lab (run as an unprivileged user under root)."""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from opslib.errors import LabError

__all__ = ["PostgresCluster", "find_pg_bindir"]

_UNPRIVILEGED = ("postgres", "nobody")


def find_pg_bindir() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl`` (newest installed major version)."""
    for name in ("initdb", "pg_ctl"):
        found = shutil.which(name)
        if found and Path(found).resolve().parent.joinpath("initdb").exists():
            return Path(found).resolve().parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    if candidates:
        return candidates[0].parent
    raise LabError("PostgreSQL server binaries (initdb, pg_ctl) not found; install postgresql")


@dataclass(frozen=True)
class _RunAs:
    uid: int
    gid: int
    name: str


def _run_as() -> _RunAs | None:
    if os.geteuid() != 0:
        return None
    for name in _UNPRIVILEGED:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return _RunAs(entry.pw_uid, entry.pw_gid, name)
    raise LabError("running as root and no unprivileged user (postgres, nobody) to run PostgreSQL")


def _check_reachable(folder: Path, run_as: _RunAs) -> None:
    for parent in folder.resolve().parents:
        mode = parent.stat()
        if not mode.st_mode & 0o001 and mode.st_uid != run_as.uid:
            raise LabError(
                f"{folder} is not reachable by user {run_as.name} ({parent} is mode "
                f"{mode.st_mode & 0o777:o}); put the lab under a world-searchable directory"
            )


class PostgresCluster:
    """``initdb`` + ``pg_ctl`` in ``base_dir``, listening on 127.0.0.1:``port`` only."""

    def __init__(
        self, base_dir: Path, port: int, *, user: str = "pricewatch", database: str = "pricewatch"
    ) -> None:
        self.base_dir = base_dir
        self.port = port
        self.user = user
        self.database = database
        self.data_dir = base_dir / "pgdata"
        self.socket_dir = base_dir / "pgsock"
        self._password_file = base_dir / "pgpass.secret"
        self.log_file = self.socket_dir / "postgres.log"

    @property
    def password(self) -> str:
        return self._password_file.read_text().strip()

    @property
    def dsn(self) -> str:
        return (
            f"host=127.0.0.1 port={self.port} dbname={self.database} "
            f"user={self.user} password={self.password} connect_timeout=3"
        )

    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> None:
        """Create the cluster and its database, with a random password for ``user``."""
        bindir = find_pg_bindir()
        run_as = _run_as()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.base_dir.chmod(0o755)
        if run_as:
            _check_reachable(self.base_dir, run_as)
        for folder in (self.data_dir, self.socket_dir):
            folder.mkdir(mode=0o700, exist_ok=True)
            if run_as:
                os.chown(folder, run_as.uid, run_as.gid)
        self._password_file.write_text(secrets.token_urlsafe(18))
        self._password_file.chmod(0o600)
        pwfile = self.base_dir / "pgpass.init"
        pwfile.write_text(self.password + "\n")
        if run_as:
            os.chown(pwfile, run_as.uid, run_as.gid)
        try:
            self._run(
                run_as,
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    self.user,
                    "--auth=scram-sha-256",
                    f"--pwfile={pwfile}",
                    "-E",
                    "UTF8",
                    "--no-sync",
                    "--locale=C",
                ],
            )
        finally:
            pwfile.unlink(missing_ok=True)
        conf = self.data_dir / "postgresql.conf"
        with conf.open("a") as fh:
            fh.write(
                "\n# opslib lab\nlisten_addresses = '127.0.0.1'\n"
                f"port = {self.port}\nunix_socket_directories = '{self.socket_dir}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "shared_buffers = 128MB\nmax_connections = 100\n"
                "track_io_timing = on\nlog_min_messages = warning\n"
                # opslib db slow-queries reads it; loading needs a restart, so it is set here
                "shared_preload_libraries = 'pg_stat_statements'\n"
            )

    def start(self) -> None:
        bindir = find_pg_bindir()
        self._run(
            _run_as(),
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                "30",
                "start",
            ],
        )
        self._run(
            _run_as(),
            [
                str(bindir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                self.user,
                self.database,
            ],
            env={"PGPASSWORD": self.password},
            check=False,
        )
        self._run(
            _run_as(),
            [
                str(bindir / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                self.database,
                "-qc",
                "CREATE EXTENSION IF NOT EXISTS pg_stat_statements",
            ],
            env={"PGPASSWORD": self.password},
            check=False,
        )

    def running(self) -> bool:
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return False
        try:
            pid = int(pid_file.read_text().split()[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError, PermissionError):
            return False
        return True

    def stop(self) -> None:
        if not self.running():
            return
        bindir = find_pg_bindir()
        self._run(
            _run_as(),
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-m",
                "fast",
                "-w",
                "-t",
                "30",
                "stop",
            ],
            check=False,
        )

    def _run(
        self,
        run_as: _RunAs | None,
        argv: list[str],
        *,
        env: dict[str, str] | None = None,
        check: bool = True,
    ) -> None:
        full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", **(env or {})}
        result = subprocess.run(
            argv,
            cwd=self.base_dir,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            user=run_as.uid if run_as else None,
            group=run_as.gid if run_as else None,
            extra_groups=[] if run_as else None,
        )
        if check and result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise LabError(f"{Path(argv[0]).name} failed: {detail[0]}")
