"""Cancel and terminate real sessions: plan, refusals, apply; the command with its audit rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from opslib.audit import AuditLog
from opslib.config import Settings
from opslib.dbactivity import apply_signal, blocked_sessions, plan_signal, read_activity
from opslib.errors import InputError, UnsafeActionError
from opslib.results import Severity
from tests.dbactivity.conftest import Sessions
from tests.dbkit import TestDatabase
from tests.support import wait_until

NO_SUCH_PID = 2_000_000_000


def _waiting(db: TestDatabase, pid: int) -> None:
    wait_until(
        lambda: (s := read_activity(db).session(pid)) is not None and s.waiting,
        10,
        f"session {pid} waiting for a lock",
    )


def _opslib(
    db: TestDatabase, *argv: str, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSLIB_")}
    env["OPSLIB_DATABASE_DSN"] = db.dsn
    env["OPSLIB_ACTOR"] = "dbactivity-test"
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "opslib.cli", *argv],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_refusals(lockable: TestDatabase, sessions: Sessions) -> None:
    with pytest.raises(InputError, match=f"no session with PID {NO_SUCH_PID}"):
        plan_signal(lockable, NO_SUCH_PID, "cancel")
    own = read_activity(lockable).own_pid
    with pytest.raises(UnsafeActionError, match="opslib's own session"):
        plan_signal(lockable, own, "terminate", force=True)
    checkpointer = next(s for s in read_activity(lockable).sessions
                        if s.backend_type == "checkpointer")  # fmt: skip
    with pytest.raises(UnsafeActionError, match="checkpointer process, not a client session"):
        plan_signal(lockable, checkpointer.pid, "terminate", force=True)
    superuser = sessions.blocker()
    with pytest.raises(UnsafeActionError, match=r"superuser session .*--force"):
        plan_signal(lockable, superuser, "terminate")
    plan = plan_signal(lockable, superuser, "terminate", force=True)
    assert plan.session.pid == superuser
    assert plan.session.superuser


def test_terminate_a_plain_blocker_frees_the_queue(
    lockable: TestDatabase, sessions: Sessions, plain_role_dsn: str
) -> None:
    blocker = sessions.blocker(dsn=plain_role_dsn)
    writer = sessions.blocked_writer()
    _waiting(lockable, writer)
    settings = Settings(thresholds={"db.lock_wait_seconds": {"warn": 0, "crit": 0}})
    red = blocked_sessions(lockable, settings)
    command = f"opslib db terminate {blocker}"
    assert f"`{command}`" in red.remediation  # a plain role's session: no --force needed

    cancel = plan_signal(lockable, blocker, "cancel")
    assert "cancel does nothing" in cancel.note  # idle in transaction: no query to cancel
    plan = plan_signal(lockable, blocker, "terminate")
    assert plan.blocks == 1
    result = apply_signal(lockable, plan)
    assert result.signalled
    assert result.gone
    assert read_activity(lockable).session(blocker) is None
    wait_until(lambda: not read_activity(lockable).blocked(), 10, "the writer unblocked")
    assert blocked_sessions(lockable, settings).severity is Severity.OK
    assert lockable.fetch_one("SELECT n FROM lockme") == {"n": 1}  # the blocker's rolled back


def test_cancel_stops_a_long_query(lockable: TestDatabase, sessions: Sessions) -> None:
    sleeper = sessions.open(application="test-sleeper")
    sessions.background(sleeper, "SELECT pg_sleep(60)")
    pid = sleeper.info.backend_pid
    wait_until(lambda: (s := read_activity(lockable).session(pid)) is not None and s.active,
               10, "pg_sleep running")  # fmt: skip
    result = apply_signal(lockable, plan_signal(lockable, pid, "cancel", force=True))
    assert result.signalled
    assert result.gone
    after = read_activity(lockable).session(pid)
    assert after is not None
    assert after.state == "idle"
    wait_until(lambda: bool(sessions.errors), 5, "the query's error in its thread")
    assert "canceling statement due to user request" in str(sessions.errors[0])


def test_commands(lockable: TestDatabase, sessions: Sessions, plain_role_dsn: str) -> None:
    blocker = sessions.blocker(dsn=plain_role_dsn)
    writer = sessions.blocked_writer()
    _waiting(lockable, writer)

    activity = _opslib(lockable, "--json", "db", "activity")
    assert activity.returncode == 0, activity.stderr  # a fresh wait is under db.lock_wait_seconds
    payload = json.loads(activity.stdout)
    assert payload["blocking_tree"][0]["pid"] == blocker
    assert {s["pid"] for s in payload["sessions"]} >= {blocker, writer}
    strict = {"OPSLIB_THRESHOLDS": '{"db.lock_wait_seconds": {"warn": 0, "crit": 0}}'}
    text = _opslib(lockable, "db", "activity", env_extra=strict)
    assert text.returncode == 2, text.stderr  # CRITICAL: the writer waits
    assert f"next: free the head of each lock queue: `opslib db terminate {blocker}`" in text.stdout
    assert f"  {blocker} plain_" in text.stdout, text.stdout
    assert "blocks 1" in text.stdout

    dry = _opslib(lockable, "db", "terminate", str(blocker), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"would terminate pid {blocker}" in dry.stdout
    assert "blocks 1" in dry.stdout
    assert read_activity(lockable).session(blocker) is not None

    missing = _opslib(lockable, "db", "cancel", str(NO_SUCH_PID))
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        f"opslib: error: no session with PID {NO_SUCH_PID} on {lockable.target}"
    ]
    refused = _opslib(lockable, "db", "terminate", str(writer))  # the test's superuser role
    assert refused.returncode == 2
    assert "superuser session" in refused.stderr
    assert "--force" in refused.stderr

    done = _opslib(lockable, "db", "terminate", str(blocker))
    assert done.returncode == 0, done.stderr
    assert f"pid {blocker} terminated" in done.stdout
    entries = {(e.action, e.dry_run, e.outcome) for e in AuditLog(lockable).recent(10)}
    assert entries >= {
        ("db.terminate", True, "ok"),
        ("db.terminate", False, "ok"),
        ("db.terminate", False, "refused"),
        ("db.cancel", False, "failed"),
    }
