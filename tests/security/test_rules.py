"""Request rules: the versioned store, ``check_request`` (denied methods, paths, headers, rates
over a sliding window, the cache's TTL), ``opslib security rules show | set | rollback |
history`` on a real database, and the lab API answering 403/429 with the reason over HTTP."""

from __future__ import annotations

import http.client
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from opslib.audit import AuditLog
from opslib.cli import main
from opslib.config import Settings
from opslib.errors import InputError
from opslib.lab._api import ApiServer
from opslib.results import Severity
from opslib.security import (
    RequestRules,
    RuleSet,
    VersionStore,
    check_rules_enforced,
    parse_rule_set,
)
from tests.dbkit import TestDatabase
from tests.security import test_keys
from tests.security._logs import clf

api = test_keys.api  # the lab API in-process, two clients' keys (fixture)


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(["--json", "security", "rules", *argv])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def test_denied_methods_paths_and_headers() -> None:
    rules = RequestRules(
        None,
        rules=RuleSet(
            denied_paths=("/admin*", "*.env"),
            denied_methods=("delete",),
            required_headers=("User-Agent",),
        ),
    )
    ua = ["user-agent"]
    assert rules.check_request("GET", "/api/v1/prices?x=1", "10.0.0.1", "", ua).allowed
    denied = rules.check_request("DELETE", "/api/v1/prices", "10.0.0.1", "", ua)
    assert (denied.allowed, denied.status, denied.reason) == (False, 403, "method DELETE denied")
    assert rules.check_request("GET", "/admin/login", "10.0.0.1", "", ua).reason == (
        "path /admin/login denied (/admin*)"
    )
    assert rules.check_request("GET", "/app/.env?x", "10.0.0.1", "", ua).status == 403
    missing = rules.check_request("GET", "/api/v1/prices", "10.0.0.1", "", ["Accept"])
    assert missing.reason == "header user-agent required"
    assert rules.check_request("GET", "/health", "10.0.0.1", "", []).allowed  # exempt


def test_rates_per_source_and_key_over_a_sliding_window() -> None:
    clock = Clock()
    rules = RequestRules(
        None, clock=clock, rules=RuleSet(rate_per_source=10, rate_per_key=5, window_seconds=10)
    )
    answers = [rules.check_request("GET", "/p", "10.0.0.1").allowed for _ in range(12)]
    assert answers == [True] * 10 + [False] * 2
    over = rules.check_request("GET", "/p", "10.0.0.1")
    assert (over.status, over.reason) == (429, "rate per source over 10 requests per 10 s")
    assert rules.check_request("GET", "/p", "10.0.0.2").allowed  # another source
    keyed = [rules.check_request("GET", "/p", f"10.1.0.{i}", "k1").allowed for i in range(7)]
    assert keyed == [True] * 5 + [False] * 2
    assert rules.check_request("GET", "/p", "10.1.0.9", "k1").reason.startswith("rate per key")
    clock.now += 15  # half-way through the next window: 13 counted before weigh 6.5
    answers = [rules.check_request("GET", "/p", "10.0.0.1").allowed for _ in range(4)]
    assert answers == [True, True, True, False]
    clock.now += 20  # two windows later: forgotten
    answers = [rules.check_request("GET", "/p", "10.0.0.1").allowed for _ in range(11)]
    assert answers == [True] * 10 + [False]


def test_the_store_caches_with_a_ttl_and_fails_open(platform_db: TestDatabase) -> None:
    store = VersionStore(platform_db, "rules")
    clock = Clock()
    db = platform_db.open()
    try:
        rules = RequestRules(db, ttl=5, clock=clock)
        assert rules.check_request("DELETE", "/x", "10.0.0.1").allowed  # none set
        store.add({"denied_methods": ["DELETE"]}, actor="carol")
        assert rules.check_request("DELETE", "/x", "10.0.0.1").allowed  # cached
        clock.now += 5
        decision = rules.check_request("DELETE", "/x", "10.0.0.1")
        assert (decision.allowed, decision.version) == (False, 1)
        db.close()  # the database goes away: the last rules read hold
        clock.now += 5
        assert not rules.check_request("DELETE", "/x", "10.0.0.1").allowed
    finally:
        db.close()


def test_concurrent_sets_lose_no_version(platform_db: TestDatabase) -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        db = platform_db.open()
        try:
            store = VersionStore(db, "rules")
            for i in range(10):
                store.add({"rate_per_source": 100 * n + i + 1}, actor=f"w{n}")
        except BaseException as exc:
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in (1, 2, 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    versions = VersionStore(platform_db, "rules").history()
    assert [v.version for v in versions] == list(range(30, 0, -1))
    assert sorted(v.body["rate_per_source"] for v in versions) == sorted(
        100 * n + i + 1 for n in (1, 2, 3) for i in range(10)
    )
    assert [v.version for v in versions if v.active] == [30]


def test_the_rules_check_finds_denied_requests_served(
    platform_db: TestDatabase, tmp_path: Path
) -> None:
    log = tmp_path / "access.log"
    settings = Settings(security={"access_logs": [str(log)], "window": "1h"})
    log.write_bytes(clf("10.0.0.1", "/admin", 200, at=datetime.now(UTC)))
    judged = check_rules_enforced(platform_db, settings)
    assert (judged.severity, judged.measurements[0].note) == (Severity.OK, "no request rules set")
    store = VersionStore(platform_db, "rules")
    activated = store.add({"denied_paths": ["/admin*"], "denied_methods": ["TRACE"]}, actor="c")
    assert activated.activated_at is not None
    after = activated.activated_at + timedelta(seconds=10)
    before = activated.activated_at - timedelta(seconds=30)
    log.write_bytes(
        clf("10.0.0.1", "/admin", 200, at=before)  # before the rules: not judged
        + clf("10.0.0.2", "/admin/login?x=1", 403, at=after)  # refused: fine
        + clf("10.0.0.3", "/api/v1/prices", 200, at=after)  # allowed
        + clf("10.0.0.4", "/health", 200, at=after, method="TRACE")  # exempt
    )
    now = after + timedelta(seconds=5)
    assert check_rules_enforced(platform_db, settings, now=now).severity is Severity.OK
    with log.open("ab") as out:
        out.write(clf("10.6.6.6", "/admin/login", 200, at=after) * 3)
        out.write(clf("10.6.6.7", "/x", 404, at=after, method="TRACE"))
    red = check_rules_enforced(platform_db, settings, now=now)
    assert red.severity is Severity.CRITICAL
    assert red.measurements[0].value == 4
    assert "opslib security block 10.6.6.6" in red.remediation
    assert "opslib security patch api --image" in red.remediation
    assert check_rules_enforced(
        platform_db, settings.model_copy(update={"security": settings.security.model_copy(
            update={"access_logs": [tmp_path / "gone.log"]})}), now=now
    ).severity is Severity.UNKNOWN  # fmt: skip


def test_bad_rules_are_one_line() -> None:
    with pytest.raises(InputError, match="denied_methods"):
        parse_rule_set({"denied_methods": ["GE T"]})
    with pytest.raises(InputError, match="rate_per_key"):
        parse_rule_set({"rate_per_key": 0})


def test_set_show_rollback_history_audited(
    env: TestDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    code, shown, _ = _run(capsys, "show")
    assert (code, shown["version"]) == (0, None)
    code, plan, _ = _run(capsys, "set", "rate_per_source=120", "denied_paths=/admin*,*.env",
                         "--dry-run")  # fmt: skip
    assert code == 0
    assert plan["dry_run"]
    assert "denied_paths: - -> /admin*,*.env" in plan["diff"]
    assert env.fetch_one("SELECT count(*) AS n FROM opslib.security_versions") == {"n": 0}
    assert _run(capsys, "set", "rate_per_source=120", "denied_paths=/admin*,*.env")[0] == 0
    code, done, _ = _run(capsys, "set", "denied_methods=delete,put", "rate_per_source=")
    assert (code, done["version"]) == (0, 2)
    assert done["body"] == {
        "denied_paths": ["/admin*", "*.env"],
        "denied_methods": ["DELETE", "PUT"],
    }
    assert "rate_per_source: 120 -> -" in done["diff"]
    code, shown, _ = _run(capsys, "show")
    assert (shown["version"], shown["actor"]) == (2, "carol")
    code, back, _ = _run(capsys, "rollback")
    assert (code, back["version"]) == (0, 1)
    assert _run(capsys, "show")[1]["body"] == {"denied_paths": ["/admin*", "*.env"],
                                               "rate_per_source": 120}  # fmt: skip
    code, rows, _ = _run(capsys, "history")
    assert [(r["version"], r["active"]) for r in rows] == [(2, False), (1, True)]
    assert _run(capsys, "rollback")[0] == 2  # version 1 is the first one
    code, _, err = _run(capsys, "set", "rate_per_key=0")
    assert code == 2
    assert err.count("\n") == 1
    assert "Traceback" not in err
    actions = [(e.action, e.outcome, e.dry_run) for e in AuditLog(env).recent(10)]
    assert ("security.rules.set", "ok", True) in actions
    assert ("security.rules.rollback", "ok", False) in actions
    assert ("security.rules.set", "failed", False) in actions or (
        "security.rules.set", "refused", False) in actions  # fmt: skip


def _request(port: int, method: str, path: str, headers: dict[str, str]) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def test_the_lab_api_enforces_the_rules(
    api: tuple[ApiServer, int], platform_db: TestDatabase, tmp_path: Path
) -> None:
    server, port = api
    key = server.client_keys[0]
    rules_db = platform_db.open()
    server.rules = RequestRules(rules_db, ttl=0)
    ok = {"X-API-Key": key, "User-Agent": "pricewatch-client/1.4"}
    assert _request(port, "GET", "/admin", ok)[0] == 200  # no rules yet
    store = VersionStore(platform_db, "rules")
    store.add({"denied_paths": ["/admin*"], "required_headers": ["user-agent"],
               "rate_per_key": 3, "window_seconds": 60}, actor="carol")  # fmt: skip
    status, body = _request(port, "GET", "/admin/login", ok)
    assert (status, json.loads(body)["error"]) == (403, "path /admin/login denied (/admin*)")
    status, body = _request(port, "GET", "/api/v1/prices?product=2", {"X-API-Key": key})
    assert (status, json.loads(body)["error"]) == (403, "header user-agent required")
    answers = [_request(port, "GET", "/api/v1/prices?product=2", ok)[0] for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    assert key not in _request(port, "GET", "/api/v1/prices", ok)[1]
    log = (tmp_path / "access.log").read_text()
    assert '"GET /admin/login HTTP/1.1" 403' in log
    assert '"GET /api/v1/prices?product=2 HTTP/1.1" 429' in log
    store.add({}, actor="carol")  # an empty version: nothing denied
    assert _request(port, "GET", "/admin", ok)[0] == 200
    rules_db.close()
