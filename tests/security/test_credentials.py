"""``opslib credentials rotate database`` on the real test PostgreSQL (scram passwords): the
role's password changed, the secret file rewritten atomically 0600, the old password refused,
every step audited without a secret; interrupted after each step (and inside the restart), the
role always accepts the old or the new password and a second run finishes the rotation."""

from __future__ import annotations

import io
import json
import random
import signal
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg import sql

from opslib.cli import main
from opslib.proxies import ProxyPool, ProxyState, parse_proxy_url
from opslib.security._credentials import STEPS, CredentialRotation, read_secret
from tests.dbkit import TestDatabase

OLD = "Old-Db-Secret-271828"
KILLS = 6


class _Killed(BaseException):
    """Stands for a kill: nothing after it runs."""


@pytest.fixture
def role(platform_db: TestDatabase) -> Iterator[str]:
    name = f"app_{uuid.uuid4().hex[:8]}"
    platform_db.execute(
        sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name), sql.Literal(OLD))
    )
    try:
        yield name
    finally:
        platform_db.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "app.env"
    path.write_text(f"OTHER=kept\nDATABASE_PASSWORD={OLD}\n")
    path.chmod(0o600)
    return path


def _rotation(
    db: TestDatabase,
    role: str,
    secret_file: Path,
    *,
    die_after: str = "",
    die_in_restart: bool = False,
) -> CredentialRotation:
    def audit(step: str, detail: str) -> None:
        if step == die_after:
            raise _Killed(step)

    def restart() -> str:
        if die_in_restart:
            raise _Killed("restart")
        return "restarted api"

    return CredentialRotation(
        db, dsn=db.dsn, role=role, secret_file=secret_file, variable="DATABASE_PASSWORD",
        restart=restart, audit=audit,
    )  # fmt: skip


def _working(rotation: CredentialRotation) -> list[str]:
    pending = (
        json.loads(rotation.pending_file.read_text()) if rotation.pending_file.exists() else {}
    )
    candidates = {"old": OLD, **({"new": pending["new"]} if pending else {})}
    in_file = read_secret(rotation.secret_file, "DATABASE_PASSWORD") or ""
    candidates.setdefault("file", in_file)
    return [name for name, pw in candidates.items() if rotation.logs_in(pw)]


@pytest.mark.parametrize("point", [*[f"after {s}" for s in STEPS[:-1]], "in restart"])
def test_an_interrupted_rotation_leaves_one_password_and_resumes(
    platform_db: TestDatabase, role: str, secret_file: Path, point: str
) -> None:
    step = point.removeprefix("after ")
    broken = _rotation(
        platform_db, role, secret_file,
        die_after=step if point.startswith("after") else "", die_in_restart=point == "in restart",
    )  # fmt: skip
    with pytest.raises(_Killed):
        broken.run()
    assert len(_working(broken)) >= 1  # old or new, never neither
    result = _rotation(platform_db, role, secret_file).run()
    assert result.resumed
    assert [s for s, _ in result.steps] == list(STEPS)
    new = read_secret(secret_file, "DATABASE_PASSWORD")
    assert new
    assert new != OLD
    assert broken.logs_in(new)
    assert not broken.logs_in(OLD)
    assert not broken.pending_file.exists()


def test_rotate_command(
    env: TestDatabase, role: str, secret_file: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("OPSLIB_SECURITY__DB_SECRET_FILE", str(secret_file))
    monkeypatch.setenv("OPSLIB_SECURITY__DB_ROLE", role)
    assert main(["credentials", "rotate", "database", "--dry-run"]) == 0
    assert read_secret(secret_file, "DATABASE_PASSWORD") == OLD
    assert main(["-v", "credentials", "rotate", "database"]) == 0
    out, err = capsys.readouterr()
    new = read_secret(secret_file, "DATABASE_PASSWORD")
    assert new
    assert new != OLD
    assert "OTHER=kept" in secret_file.read_text()
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    rotation = _rotation(env, role, secret_file)
    assert rotation.logs_in(new)
    assert not rotation.logs_in(OLD)
    audit = json.dumps(env.fetch_all("SELECT * FROM opslib.audit_log"), default=str)
    rows = env.fetch_all("SELECT target, step, finished_at FROM opslib.credential_rotations")
    assert [(r["target"], r["step"]) for r in rows] == [(f"database:{role}", "verify")]
    for step in STEPS:
        assert f"credentials.rotate.{step}" in audit
    for text in (out, err, audit, json.dumps(rows, default=str)):
        assert new not in text
        assert OLD not in text
    monkeypatch.delenv("OPSLIB_SECURITY__DB_SECRET_FILE")
    assert main(["credentials", "rotate", "database"]) == 2
    assert "db_secret_file" in capsys.readouterr().err


def test_kill_9_at_random_moments(
    env: TestDatabase, role: str, secret_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``kill -9`` of the command at random moments: old or new always logs in; a last run
    finishes the rotation."""
    monkeypatch.setenv("OPSLIB_SECURITY__DB_SECRET_FILE", str(secret_file))
    monkeypatch.setenv("OPSLIB_SECURITY__DB_ROLE", role)
    rng = random.Random(15)
    probe = _rotation(env, role, secret_file)
    argv = [sys.executable, "-m", "opslib.cli", "credentials", "rotate", "database"]
    for _ in range(KILLS):
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.5))  # the interpreter's start takes most of it
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert _working(probe), "neither the old nor the new password logs in"
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    new = read_secret(secret_file, "DATABASE_PASSWORD")
    assert new
    assert probe.logs_in(new)
    assert not probe.pending_file.exists()


def test_rotate_proxy_credentials(
    env: TestDatabase, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The new password read from stdin, stored sealed; country, source, tags and state kept;
    audited without it."""
    pool = ProxyPool(env)
    old = parse_proxy_url(
        "http://puser:Proxy-Old-Secret-1@10.9.8.7:3128", country="DE", source="list", tags=("dc",)
    )
    pool.upsert([old])
    pool.set_state([old.url], ProxyState.RESERVE, "test")
    monkeypatch.setattr("sys.stdin", io.StringIO("Proxy-New-Secret-2\n"))
    assert main(["credentials", "rotate", "proxy", old.url]) == 0
    out, err = capsys.readouterr()
    (stored,) = [p for p in pool.connectable(list(ProxyState)) if p.url == old.url]
    assert stored.password is not None
    assert stored.password.get_secret_value() == "Proxy-New-Secret-2"
    assert (stored.username, stored.country) == ("puser", old.country)
    (shown,) = pool.proxies()
    assert (shown.source, shown.tags, shown.state) == ("list", ("dc",), ProxyState.RESERVE)
    audit = json.dumps(env.fetch_all("SELECT * FROM opslib.audit_log"), default=str)
    for text in (out, err, audit):
        assert "Proxy-New-Secret-2" not in text
        assert "Proxy-Old-Secret-1" not in text
    assert main(["credentials", "rotate", "proxy", "http://10.0.0.1:1"]) == 2
    assert "not in the proxy pool" in capsys.readouterr().err
