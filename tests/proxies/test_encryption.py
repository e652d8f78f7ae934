"""Proxy passwords sealed at rest: the pool writes tokens, leases and the tester get the
password, ``opslib proxies encrypt`` seals, re-keys and decrypts, and a dump holds no password."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from opslib.cli import main
from opslib.config import ProxySettings, load_settings
from opslib.errors import ConfigError, DataError
from opslib.lab._postgres import find_pg_bindir
from opslib.proxies import (
    SEALED_PREFIX,
    PasswordSealer,
    ProxyPool,
    ProxyState,
    parse_proxy_url,
    proxies_to_test,
)
from tests.dbkit import TestDatabase

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
PASSWORD = "pw-sealed-7f3a9c"


def _stored(db: TestDatabase) -> list[str]:
    rows = db.fetch_all(
        "SELECT password FROM opslib.proxies WHERE password IS NOT NULL ORDER BY url"
    )
    return [r["password"] for r in rows]


def _fill(pool: ProxyPool, n: int = 3) -> None:
    pool.upsert(
        parse_proxy_url(f"http://u{i}:{PASSWORD}{i}@127.0.0.{i + 1}:3128") for i in range(n)
    )


def _settings(*keys: str) -> ProxySettings:
    return ProxySettings(encryption_keys=[SecretStr(k) for k in keys])


def test_sealer_round_trip_and_refusals() -> None:
    sealer = PasswordSealer([SecretStr(NEW_KEY), SecretStr(OLD_KEY)])
    token = sealer.seal(PASSWORD)
    assert token.startswith(SEALED_PREFIX)
    assert PASSWORD not in token
    assert sealer.open(token) == PASSWORD
    assert sealer.open("plain-text") == "plain-text"  # rows from before encryption
    assert sealer.freshness(token) == "current"
    older = PasswordSealer([SecretStr(OLD_KEY)]).seal(PASSWORD)
    assert sealer.freshness(older) == "stale"
    assert sealer.open(older) == PASSWORD
    with pytest.raises(ConfigError, match=r"encrypted: set proxies\.encryption_keys"):
        PasswordSealer().open(token)
    with pytest.raises(ConfigError, match=r"not in proxies\.encryption_keys"):
        PasswordSealer([SecretStr(Fernet.generate_key().decode())]).open(token)
    with pytest.raises(DataError, match="may not start with"):
        PasswordSealer().seal(SEALED_PREFIX + "x")


def test_pool_stores_tokens_and_leases_the_password(platform_db: TestDatabase) -> None:
    pool = ProxyPool(platform_db, _settings(NEW_KEY))
    _fill(pool)
    stored = _stored(platform_db)
    assert len(stored) == 3
    assert all(s.startswith(SEALED_PREFIX) and PASSWORD not in s for s in stored)
    lease = pool.acquire("shop.test")
    assert PASSWORD in lease.connect_url()
    tested = proxies_to_test(pool, (ProxyState.ACTIVE,))
    assert {p.password.get_secret_value() for p in tested if p.password} == {
        f"{PASSWORD}{i}" for i in range(3)
    }
    with pytest.raises(ConfigError, match="encrypted"):
        ProxyPool(platform_db).acquire("shop.test")


def test_settings_refuse_a_bad_key_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSLIB_PROXIES__ENCRYPTION_KEYS", "not-a-key-secretvalue")
    with pytest.raises(ConfigError) as err:
        load_settings()
    text = str(err.value) + " ".join(err.value.problems)
    assert "not URL-safe base64" in text or "bytes, a Fernet key has 32" in text
    assert "secretvalue" not in text
    # two keys, comma-separated, the natural spelling in an environment variable
    monkeypatch.setenv("OPSLIB_PROXIES__ENCRYPTION_KEYS", f"{NEW_KEY},{OLD_KEY}")
    keys = load_settings().proxies.encryption_keys
    assert [k.get_secret_value() for k in keys] == [NEW_KEY, OLD_KEY]


def _encrypt(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    code = main(["--json", "proxies", "encrypt", *args])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out else {}), err


def test_encrypt_command_seals_rekeys_and_decrypts(
    env: TestDatabase, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _fill(ProxyPool(env))  # written before encryption: plain text
    code, _, err = _encrypt(capsys)
    assert code == 2
    assert "no encryption key" in err
    assert "Traceback" not in err

    monkeypatch.setenv("OPSLIB_PROXIES__ENCRYPTION_KEYS", OLD_KEY)
    code, dry, _ = _encrypt(capsys, "--dry-run")
    assert (code, dry["sealed"], dry["dry_run"]) == (0, 3, True)
    assert all(PASSWORD in s for s in _stored(env))  # dry run wrote nothing
    code, done, _ = _encrypt(capsys)
    assert (code, done["sealed"], done["unchanged"]) == (0, 3, 0)
    under_old = _stored(env)
    assert all(s.startswith(SEALED_PREFIX) for s in under_old)

    # rotation: the new key first, the old one still opens
    monkeypatch.setenv("OPSLIB_PROXIES__ENCRYPTION_KEYS", f"{NEW_KEY},{OLD_KEY}")
    code, done, _ = _encrypt(capsys)
    assert (done["rekeyed"], done["sealed"]) == (3, 0)
    monkeypatch.setenv("OPSLIB_PROXIES__ENCRYPTION_KEYS", NEW_KEY)  # the old key dropped
    assert PASSWORD in ProxyPool(env, _settings(NEW_KEY)).acquire("shop.test").connect_url()
    code, done, _ = _encrypt(capsys)
    assert done["unchanged"] == 3

    code, done, _ = _encrypt(capsys, "--decrypt")
    assert (code, done["opened"]) == (0, 3)
    assert sorted(_stored(env)) == [f"{PASSWORD}{i}" for i in range(3)]
    audit = env.fetch_all("SELECT action, dry_run FROM opslib.audit_log ORDER BY id")
    assert [(a["action"], a["dry_run"]) for a in audit].count(("proxies.encrypt", True)) == 1
    assert NEW_KEY.rstrip("=") not in json.dumps([dict(a) for a in audit], default=str)


def test_a_dump_of_a_sealed_pool_holds_no_password(env: TestDatabase, tmp_path: Path) -> None:
    _fill(ProxyPool(env, _settings(NEW_KEY)))
    pg_dump = find_pg_bindir() / "pg_dump"
    dump = subprocess.run(
        [str(pg_dump), "--data-only", "--table=opslib.proxies", env.dsn],
        capture_output=True,
        timeout=60,
        check=True,
    ).stdout
    assert b"u0" in dump  # the rows are in it
    assert PASSWORD.encode() not in dump
