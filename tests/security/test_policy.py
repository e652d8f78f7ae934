"""The security policy: laid over the configuration (the configuration is the fallback), read
by the key-age check and by ``security block``, and ``opslib security policy show | set |
rollback | history`` on a real database, versioned and audited."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from opslib.audit import AuditLog
from opslib.cli import main
from opslib.config import Settings
from opslib.errors import InputError
from opslib.results import Severity
from opslib.security import (
    KeyStore,
    SecurityPolicy,
    apply_policy,
    check_key_age,
    effective_settings,
    policy_store,
    protected_networks,
)
from tests.dbkit import TestDatabase
from tests.security.conftest import PEPPER


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(["--json", "security", *argv])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def test_the_policy_overrides_the_configuration() -> None:
    settings = Settings()
    policy = SecurityPolicy(
        key_max_age_days=30,
        allowlist=("10.9.0.0/16",),
        default_block="2h",
        request_rate_crit=50,
        key_overlap="1h",
    )
    changed = apply_policy(settings, policy)
    age = changed.threshold("security.key_age_days")
    assert (age.warn, age.crit) == (30, 30)  # the default warn (75) follows the tighter crit
    assert changed.threshold("security.request_rate").crit == 50
    assert changed.threshold("security.request_rate").warn == 5  # not set: the config's
    assert changed.security.default_block == "2h"
    assert changed.security.key_overlap == "1h"
    assert "10.9.0.0/16" in {str(n) for n, _ in protected_networks(changed)}
    assert settings.security.default_block == "24h"  # the original is untouched
    assert apply_policy(settings, SecurityPolicy()) == settings
    with pytest.raises(InputError, match="allowlist"):
        apply_policy(settings, SecurityPolicy(allowlist=("not-a-net",)))
    with pytest.raises(InputError, match=r"security\.key_age_days"):
        apply_policy(settings, SecurityPolicy(key_age_warn_days=100, key_max_age_days=50))


def test_the_key_age_check_judges_against_the_policy(platform_db: TestDatabase) -> None:
    settings = Settings(security={"key_pepper": PEPPER})
    store = KeyStore(platform_db, PEPPER)
    store.create("acme", actor="carol")
    platform_db.execute("UPDATE opslib.api_keys SET created_at = now() - interval '40 days'")
    keys, now = store.entries(), store.now()
    assert check_key_age(keys, now, effective_settings(settings, platform_db)).severity is (
        Severity.OK
    )  # no policy: the configured 75/90 days
    policy_store(platform_db).add({"key_max_age_days": 30}, actor="carol")
    result = check_key_age(keys, now, effective_settings(settings, platform_db))
    assert result.severity is Severity.CRITICAL
    assert "opslib keys rotate" in result.message()
    policy_store(platform_db).add({"key_overlap": "nonsense"}, actor="carol")  # unreadable
    assert effective_settings(settings, platform_db) is settings  # the config holds


def test_set_show_history_rollback_audited(
    env: TestDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    code, shown, _ = _run(capsys, "policy", "show")
    assert (code, shown["version"]) == (0, None)
    assert shown["in_force"]["default_block"] == "24h"
    code, plan, _ = _run(capsys, "policy", "set", "default_block=2h", "--dry-run")
    assert (code, plan["dry_run"], plan["diff"]) == (0, True, ["default_block: - -> 2h"])
    assert policy_store(env).active() is None
    code, done, _ = _run(capsys, "policy", "set", "default_block=2h", "allowlist=10.9.0.0/16",
                         "key_max_age_days=30")  # fmt: skip
    assert (code, done["version"]) == (0, 1)
    code, shown, _ = _run(capsys, "policy", "show")
    assert shown["in_force"]["key_max_age_days"] == 30
    assert shown["in_force"]["allowlist"] == ["10.9.0.0/16"]
    assert shown["policy"]["default_block"] == "2h"
    # security block reads the policy: the allowlist and the default block time
    code, _, err = _run(capsys, "block", "10.9.1.1", "--reason", "test")
    assert code == 2
    assert "allowlisted" in err
    code, plan, _ = _run(capsys, "block", "10.6.6.6", "--reason", "test")
    assert code == 0
    row = env.fetch_one(
        "SELECT expires_at - created_at AS span FROM opslib.blocklist WHERE removed_at IS NULL"
    )
    assert row is not None
    assert timedelta(hours=1, minutes=59) < row["span"] <= timedelta(hours=2, seconds=5)
    code, done, _ = _run(capsys, "policy", "set", "default_block=")  # unset: config again
    assert (code, done["version"], "default_block" in done["body"]) == (0, 2, False)
    assert _run(capsys, "policy", "show")[1]["in_force"]["default_block"] == "24h"
    code, back, _ = _run(capsys, "policy", "rollback")
    assert (code, back["version"], back["body"]["default_block"]) == (0, 1, "2h")
    code, rows, _ = _run(capsys, "policy", "history")
    assert [(r["version"], r["active"], r["actor"]) for r in rows] == [
        (2, False, "carol"),
        (1, True, "carol"),
    ]
    for bad in ("colour=blue", "allowlist=10.0.0.300/8", "max_legit_share=2", "novalue"):
        code, _, err = _run(capsys, "policy", "set", bad)
        assert code == 2, bad
        assert err.count("\n") == 1, err
        assert "Traceback" not in err
    entries = AuditLog(env).recent(30)
    sets = [e for e in entries if e.action == "security.policy.set"]
    assert {(e.outcome, e.dry_run) for e in sets} >= {("ok", True), ("ok", False)}
    assert any(e.action == "security.policy.rollback" and e.outcome == "ok" for e in entries)


def test_keys_rotate_takes_the_policy_overlap(
    env: TestDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["security", "policy", "set", "key_overlap=1h"]) == 0
    assert main(["keys", "create", "acme"]) == 0
    capsys.readouterr()
    assert main(["--json", "keys", "rotate", "acme"]) == 0
    rotated = json.loads(capsys.readouterr().out)
    row = env.fetch_one(
        "SELECT expires_at - now() AS left FROM opslib.api_keys WHERE prefix = %s",
        (rotated["old"]["prefix"],),
    )
    assert row is not None
    assert timedelta(minutes=55) < row["left"] <= timedelta(hours=1)  # not the config's 24 h
