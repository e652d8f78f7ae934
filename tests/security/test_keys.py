"""API keys on a real database: stored as an HMAC only, shown once, rotated with an overlap
window, revoked at once, the key-age check, ``opslib keys`` audited without the key, and the
lab API accepting exactly the store's live keys."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from opslib.audit import AuditLog
from opslib.cli import main
from opslib.config import SecuritySettings, Settings
from opslib.errors import ConfigError
from opslib.lab._api import ApiServer, api_port
from opslib.lab._settings import LabSettings
from opslib.results import Severity
from opslib.security import KeyStore, check_key_age
from tests.dbkit import TestDatabase
from tests.security.conftest import PEPPER
from tests.support import free_port_range

ROOT = Path(__file__).resolve().parents[2]


def _settings(**security: Any) -> Settings:
    return Settings(security=SecuritySettings(key_pepper=PEPPER, **security))


def _dump(db: TestDatabase) -> str:
    rows = db.fetch_all("SELECT * FROM opslib.api_keys")
    audit = db.fetch_all("SELECT * FROM opslib.audit_log")
    return json.dumps([rows, audit], default=lambda v: v.hex() if isinstance(v, bytes) else str(v))


def test_create_verify_rotate_revoke(platform_db: TestDatabase) -> None:
    store = KeyStore(platform_db, PEPPER)
    record, key = store.create("acme", actor="al")
    assert key.startswith(f"opk_{record.prefix}_")
    assert store.verify(key) == record
    assert store.verify(key + "x") is None
    assert store.verify("") is None
    assert KeyStore(platform_db, "another-pepper-of-16").verify(key) is None
    assert key not in _dump(platform_db)  # only the HMAC is stored

    new, new_key, old = store.rotate("acme", overlap=timedelta(seconds=1), actor="al")
    assert new.name == "acme"
    assert new.replaces == record.id
    assert old.expires_at is not None
    assert store.verify(key) is not None  # the overlap: both work
    assert store.verify(new_key) is not None
    time.sleep(1.2)
    assert store.verify(key) is None  # the window passed
    assert store.verify(new_key) is not None
    assert [k.prefix for k in store.entries()] == [new.prefix]

    (revoked,) = store.revoke(new.prefix, reason="leaked in a ticket", actor="al")
    assert revoked.revoked_by == "al"
    assert store.verify(new_key) is None  # at once
    assert store.entries() == []
    assert len(store.entries(include_dead=True)) == 2


def test_no_pepper_no_hash(platform_db: TestDatabase) -> None:
    store = KeyStore(platform_db, None)
    with pytest.raises(ConfigError, match="key_pepper"):
        store.create("acme")
    with pytest.raises(ConfigError, match="16 characters"):
        KeyStore(platform_db, "short")


def test_key_age_check(platform_db: TestDatabase) -> None:
    store = KeyStore(platform_db, PEPPER)
    old, _ = store.create("oldclient")
    store.create("newclient")
    platform_db.execute(
        "UPDATE opslib.api_keys SET created_at = now() - interval '100 days' WHERE id = %s",
        (old.id,),
    )
    settings = _settings()
    result = check_key_age(store.entries(), store.now(), settings)
    assert result.severity is Severity.CRITICAL
    assert f"opslib keys rotate {old.prefix}" in result.message()
    store.rotate(old.prefix, overlap=timedelta(hours=1))
    healed = check_key_age(store.entries(), store.now(), settings)
    assert healed.severity is Severity.OK  # the old key in its overlap is not judged


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(["--json", "keys", *argv])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def test_keys_commands_audited_without_the_key(
    env: TestDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    code, data, _ = _run(capsys, "create", "acme", "--dry-run")
    assert (code, data["dry_run"]) == (0, True)
    code, made, _ = _run(capsys, "create", "acme")
    assert code == 0
    key = made["key"]
    code, rows, _ = _run(capsys, "list")
    assert [(r["name"], r["state"]) for r in rows] == [("acme", "live")]
    assert key not in json.dumps(rows)
    code, rotated, _ = _run(capsys, "rotate", "acme", "--overlap", "1h")
    assert code == 0
    assert rotated["old"]["prefix"] == made["prefix"]
    new_key = rotated["key"]
    code, rows, _ = _run(capsys, "list")
    assert sorted(r["state"] for r in rows) == ["expiring", "live"]
    code, done, _ = _run(capsys, "revoke", "acme", "--reason", "incident 7")
    assert code == 0
    assert len(done["keys"]) == 2
    code, rows, _ = _run(capsys, "list")
    assert rows == []
    assert main(["keys", "revoke", "acme", "--reason", "again"]) == 2
    err = capsys.readouterr().err
    assert "no live key" in err
    assert len(err.strip().splitlines()) == 1
    actions = [(e.action, e.dry_run, e.outcome) for e in AuditLog(env).recent(10)]
    assert ("keys.create", False, "ok") in actions
    assert ("keys.rotate", False, "ok") in actions
    assert ("keys.revoke", False, "ok") in actions
    dump = _dump(env)
    for secret in (key, new_key, PEPPER):
        assert secret not in dump


def test_create_without_a_pepper_is_one_line(
    env: TestDatabase, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPSLIB_SECURITY__KEY_PEPPER")
    assert main(["keys", "create", "acme"]) == 2
    err = capsys.readouterr().err
    assert "key_pepper" in err
    assert "Traceback" not in err


@pytest.fixture
def api(platform_db: TestDatabase, tmp_path: Path) -> Iterator[tuple[ApiServer, int]]:
    lab = LabSettings(state_dir=tmp_path, port_base=free_port_range(48))
    db = platform_db.open()
    server = ApiServer(lab, tmp_path / "access.log", lambda ip: False, KeyStore(db, PEPPER), 2)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server, api_port(lab)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
        db.close()


def _get(port: int, key: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/api/v1/prices?product=3", headers={"X-API-Key": key})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_the_lab_api_reads_keys_from_the_store(
    api: tuple[ApiServer, int], platform_db: TestDatabase
) -> None:
    server, port = api
    store = KeyStore(platform_db, PEPPER)
    assert [k.name for k in store.entries()] == ["lab-client-1", "lab-client-2"]
    first, second = server.client_keys
    assert _get(port, first) == 200
    _made, extra = store.create("customer")
    assert _get(port, extra) == 200
    store.revoke("customer", reason="leaked")
    assert _get(port, extra) == 401  # revocation holds from the next request
    _new, rotated, _old = store.rotate("lab-client-2", overlap=timedelta(hours=1))
    assert _get(port, second) == 200  # overlap
    assert _get(port, rotated) == 200
    assert _get(port, "opk_AAAAAAAAAA_" + "x" * 43) == 401


def _suite() -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "pytest", str(ROOT / "checks" / "emergency" / "security"),
            "-k", "max_age", "-p", "no:cacheprovider", "-q"]  # fmt: skip
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=ROOT,
                          check=False)  # fmt: skip


def test_the_suite_judges_key_age(env: TestDatabase) -> None:
    store = KeyStore(env, PEPPER)
    old, _ = store.create("oldclient")
    assert _suite().returncode == 0
    env.execute("UPDATE opslib.api_keys SET created_at = now() - interval '100 days'")
    red = _suite()
    assert red.returncode != 0
    assert f"opslib keys rotate {old.prefix}" in red.stdout
    store.rotate(old.prefix, overlap=timedelta(hours=1))
    green = _suite()
    assert green.returncode == 0, green.stdout[-2000:]
