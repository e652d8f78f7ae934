"""The lab fault ``slow-query``: a batch job's long-running transaction holding a row of
``monitored_urls`` locked, and a writer blocked behind it.

``inject`` starts a small process of the lab (``python -m opslib.lab._slow_query``) that
connects as ``pricewatch_batch``, a login role without superuser rights (as an application's
own role would be, so ``opslib db cancel`` and ``terminate`` act without ``--force``), updates
the row in a transaction and runs ``pg_sleep`` inside it; a second session of the same role
updates the same row and waits. The scrapers claim rows with ``SKIP LOCKED``, so they pass the
locked one by. Like a well-behaved client, the process rolls back and ends when its query is
cancelled or its session terminated, which frees the writer. ``heal`` stops the process and
ends what is left of its sessions.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from psycopg import conninfo, sql

from opslib.adapters import Database
from opslib.config import load_settings
from opslib.errors import LabError, OpsError
from opslib.lab._control import FaultRecord
from opslib.lab._paths import LabPaths
from opslib.lab._procs import Supervisor, child_env
from opslib.lab._settings import LabSettings

__all__ = ["BATCH_ROLE", "heal_slow_query", "inject_slow_query"]

BATCH_ROLE = "pricewatch_batch"
"""The login role the fault's sessions use (created by the fault, not a superuser)."""
_PROCESS = "slow-query"
_BLOCKER_APP = "pricewatch-batch"
_WRITER_APP = "pricewatch-writer"
_PASSWORD_ENV = "PRICEWATCH_BATCH_PASSWORD"  # noqa: S105 - the variable's name
_HOLD_SECONDS = 3600  # the blocker's pg_sleep: an hour, or until cancelled


class _Host(Protocol):
    @property
    def settings(self) -> LabSettings: ...

    def database(self) -> Database: ...


def _supervisor(settings: LabSettings) -> Supervisor:
    paths = LabPaths(settings.state_dir)
    return Supervisor(paths.run_dir, paths.log_dir)


def _sessions(db: Database) -> list[dict[str, object]]:
    return db.fetch_all(
        "SELECT pid, application_name AS app, wait_event_type AS wait FROM pg_stat_activity"
        " WHERE usename = %s AND application_name IN (%s, %s)",
        (BATCH_ROLE, _BLOCKER_APP, _WRITER_APP),
    )


def inject_slow_query(host: _Host, target: str | None) -> str:
    """Start the blocking transaction and the blocked writer; return once the writer waits."""
    password = secrets.token_urlsafe(18)
    role = sql.Identifier(BATCH_ROLE)
    with host.database() as db:
        row = db.fetch_one(
            "SELECT min(id) AS id, count(*) FILTER (WHERE r.rolname IS NOT NULL) AS roles"
            " FROM monitored_urls LEFT JOIN pg_roles r ON r.rolname = %s WHERE active",
            (BATCH_ROLE,),
        )
        if row is None or row["id"] is None:
            raise LabError("slow-query: monitored_urls has no active row to lock")
        statement = (
            sql.SQL("ALTER ROLE {} LOGIN NOSUPERUSER PASSWORD {}")
            if row["roles"]
            else sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER PASSWORD {}")
        )
        with db.transaction():  # the password stays out of pg_stat_statements
            db.execute("SET LOCAL pg_stat_statements.track_utility = off")
            db.execute(statement.format(role, sql.Literal(password)))
        db.execute(sql.SQL("GRANT SELECT, UPDATE ON monitored_urls TO {}").format(role))
        url_id = int(row["id"])
        env = {**child_env(), _PASSWORD_ENV: password}
        argv = [sys.executable, "-m", "opslib.lab._slow_query",
                "--state-dir", str(host.settings.state_dir), "--url-id", str(url_id)]  # fmt: skip
        supervisor = _supervisor(host.settings)
        supervisor.start(_PROCESS, argv, env=env)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            found = {str(s["app"]): s for s in _sessions(db)}
            writer = found.get(_WRITER_APP)
            if writer is not None and writer["wait"] == "Lock" and _BLOCKER_APP in found:
                blocker = found[_BLOCKER_APP]["pid"]
                return (
                    f"slow-query: pid {blocker} ({BATCH_ROLE}) holds monitored_urls row"
                    f" {url_id} in a transaction running pg_sleep; pid {writer['pid']} waits"
                    " for it"
                )
            if supervisor.pid(_PROCESS) is None:
                break
            time.sleep(0.1)
    log = supervisor.log_file(_PROCESS)
    tail = log.read_text().strip().splitlines()[-3:] if log.exists() else []
    _heal(host)
    raise LabError(f"slow-query: the blocked writer did not appear: {' | '.join(tail)}")


def heal_slow_query(host: _Host, record: FaultRecord) -> str:
    """Stop the fault's process; end any session of it that remains."""
    ended = _heal(host)
    return f"slow-query: the blocking transaction is gone ({ended} session(s) ended)"


def _heal(host: _Host) -> int:
    _supervisor(host.settings).stop(_PROCESS)
    # A backend in pg_sleep does not notice its client is gone: end the sessions here.
    with host.database() as db:
        left = _sessions(db)
        for session in left:
            db.execute("SELECT pg_terminate_backend(%s)", (session["pid"],))
        deadline = time.monotonic() + 5
        while _sessions(db) and time.monotonic() < deadline:
            time.sleep(0.05)
    return len(left)


# The fault's process


def _write(db: Database, url_id: int) -> None:
    with contextlib.suppress(OpsError):  # heal terminated it: nothing left to do
        db.execute("UPDATE monitored_urls SET last_checked_at = now() WHERE id = %s", (url_id,))


def _run(dsn: str, url_id: int) -> int:
    blocker = Database(dsn, statement_timeout=_HOLD_SECONDS + 60, application_name=_BLOCKER_APP)
    writer = Database(dsn, statement_timeout=_HOLD_SECONDS + 60, application_name=_WRITER_APP)
    thread = threading.Thread(target=_write, args=(writer, url_id), daemon=True)
    try:
        with blocker.transaction():
            blocker.execute(
                "UPDATE monitored_urls SET priority = priority WHERE id = %s", (url_id,)
            )
            thread.start()
            blocker.execute("SELECT pg_sleep(%s)", (_HOLD_SECONDS,))
    except OpsError as exc:
        # Cancelled or terminated: the transaction is rolled back (or gone with the session).
        print(f"slow-query: the blocking transaction ended: {exc}", flush=True)
    finally:
        blocker.close()
    if thread.is_alive():
        thread.join(timeout=10)
    writer.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="opslib-lab-slow-query")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--url-id", type=int, required=True)
    args = parser.parse_args(argv)
    settings = load_settings(LabPaths(args.state_dir).config)
    if settings.database_dsn is None:
        raise LabError("the lab's config has no database_dsn")
    dsn = conninfo.make_conninfo(
        settings.database_dsn.get_secret_value(),
        user=BATCH_ROLE,
        password=os.environ[_PASSWORD_ENV],
    )
    return _run(dsn, args.url_id)


if __name__ == "__main__":
    sys.exit(main())
