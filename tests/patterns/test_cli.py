"""The whole pattern loop through the command line, on the real test PostgreSQL, with the lab
shop's pages: reference pages, generate and deploy, verify, a layout change turns verify and
the emergency check red (naming generate / rollback), a new pattern makes them green, the old
layout back and a rollback makes them green again. Deploying a failing pattern is refused
unless --force; every change is in the audit log."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from opslib.cli import main
from opslib.config import load_settings
from opslib.extraction import PatternStore
from opslib.extraction._verify import extractor_accuracy
from opslib.results import Severity
from tests.dbkit import TestDatabase
from tests.patterns.pages import lab_samples, products, write_dir

DOMAIN = products(0)[0].domain


@pytest.fixture
def env(platform_db: TestDatabase, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> TestDatabase:
    for key in [k for k in os.environ if k.startswith("OPSLIB_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("OPSLIB_DATABASE_DSN", platform_db.dsn)
    monkeypatch.setenv("OPSLIB_ACTOR", "tester")
    monkeypatch.chdir(tmp_path)  # no opslib.toml here
    return platform_db


def _json(capsys: pytest.CaptureFixture[str]) -> Any:
    return json.loads(capsys.readouterr().out)


def _check(db: TestDatabase) -> Severity:
    return extractor_accuracy(db, load_settings(None)).severity


def test_the_loop(env: TestDatabase, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    standard = write_dir(tmp_path / "standard", lab_samples("standard"))
    changed = write_dir(tmp_path / "changed", lab_samples("changed"))
    # nothing stored yet: the check cannot judge
    assert main(["patterns", "verify"]) == 3
    capsys.readouterr()
    assert main(["patterns", "reference", "import", DOMAIN, str(standard)]) == 0
    capsys.readouterr()
    # generate from the operator's pages, test on the held-out ones, deploy as version 1
    assert main(["--json", "patterns", "generate", DOMAIN, "--pages", str(standard)]) == 0
    proposal = _json(capsys)
    assert proposal["passed"]
    assert proposal["held_out"]["accuracy"] == 1.0
    assert proposal["held_out"]["pages"] >= 5
    assert main(["patterns", "generate", DOMAIN, "--pages", str(standard), "--deploy"]) == 0
    assert "deployed" in capsys.readouterr().out
    assert main(["--json", "patterns", "verify"]) == 0
    verified = _json(capsys)
    assert verified["domains"][0]["accuracy"] == 1.0
    assert _check(env) is Severity.OK

    # the site changes its layout: the reference pages of today show it
    assert main(["patterns", "reference", "import", DOMAIN, str(changed)]) == 0
    capsys.readouterr()
    assert main(["patterns", "verify"]) == 2
    out = capsys.readouterr().out
    assert "wrong page" in out
    assert "product-" in out
    result = extractor_accuracy(env, load_settings(None))
    assert result.severity is Severity.CRITICAL
    assert [m.subject for m in result.problems] == [DOMAIN]
    assert f"opslib patterns generate {DOMAIN}" in result.message()

    # a pattern of the old layout is refused on the new pages, unless forced
    old = PatternStore(env).current(DOMAIN)
    assert old is not None
    assert main(["patterns", "deploy", DOMAIN, "--selector", old.pattern.selector]) == 3  # refused
    assert "not deploying" in capsys.readouterr().err
    # generate on the new layout and deploy: green again
    assert main(["patterns", "generate", DOMAIN, "--pages", str(changed), "--deploy"]) == 0
    capsys.readouterr()
    assert main(["patterns", "verify"]) == 0
    assert _check(env) is Severity.OK

    # the site goes back (heal): version 2 fails, the check names the rollback; roll back
    assert main(["patterns", "reference", "import", DOMAIN, str(standard)]) == 0
    result = extractor_accuracy(env, load_settings(None))
    assert result.severity is Severity.CRITICAL
    assert f"opslib patterns rollback {DOMAIN}" in result.message()
    assert main(["patterns", "rollback", DOMAIN, "--dry-run"]) == 0
    assert "would roll back" in capsys.readouterr().out
    assert main(["patterns", "rollback", DOMAIN]) == 0
    assert "v2 -> v1" in capsys.readouterr().out
    assert main(["patterns", "verify"]) == 0
    assert _check(env) is Severity.OK
    capsys.readouterr()

    assert main(["--json", "patterns", "show", DOMAIN]) == 0
    shown = _json(capsys)
    assert [(v["version"], v["active"]) for v in shown] == [(2, False), (1, True)]
    assert main(["--json", "patterns", "list"]) == 0
    listed = _json(capsys)
    assert listed[0]["active"]["version"] == 1
    assert listed[0]["reference_pages"] > 20
    actions = [
        (r["action"], r["outcome"], r["actor"])
        for r in env.fetch_all(
            "SELECT action, outcome, actor FROM opslib.audit_log"
            " WHERE action LIKE 'patterns.%%' ORDER BY id"
        )
    ]
    assert ("patterns.deploy", "ok", "tester") in actions
    assert ("patterns.deploy", "refused", "tester") in actions
    assert ("patterns.rollback", "ok", "tester") in actions
    assert sum(a == "patterns.deploy" and o == "ok" for a, o, _ in actions) == 2


def test_force_and_test_command(
    env: TestDatabase, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changed = write_dir(tmp_path / "changed", lab_samples("changed", 1))
    domain = products(1)[0].domain
    assert main(["patterns", "reference", "import", domain, str(changed)]) == 0
    assert main(["patterns", "deploy", domain, "--selector", ".nothing"]) == 3
    assert main(["patterns", "deploy", domain, "--selector", ".nothing", "--force"]) == 0
    assert main(["patterns", "test", domain, "--references"]) == 2  # the active: .nothing
    capsys.readouterr()
    assert main(["--json", "patterns", "test", domain, "--pages", str(changed),
                 "--selector", ".nothing"]) == 2  # fmt: skip
    tested = _json(capsys)
    assert tested["accuracy"] < 0.1
    assert tested["failures"]
    assert main(["patterns", "rollback", domain]) == 0  # the only version: no pattern left
    assert "no pattern" in capsys.readouterr().out
    assert PatternStore(env).active(domain) is None
    # no pattern: verify judges the engine alone on the reference pages
    assert main(["--json", "patterns", "verify", domain]) in (0, 1, 2)
    assert _json(capsys)["domains"][0]["version"] is None


def test_reference_add_list_remove(
    env: TestDatabase, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "p.html"
    page.write_text('<span class="price">12,50 €</span>')
    assert main(["patterns", "reference", "add", "shop.test", str(page), "--price", "12.50"]) == 0
    assert main(["patterns", "reference", "add", "shop.test", str(page), "--price", "abc"]) == 2
    capsys.readouterr()
    assert main(["--json", "patterns", "reference", "list", "shop.test"]) == 0
    listed = _json(capsys)
    assert [(r["name"], r["price"]) for r in listed] == [("p.html", "12.50")]
    assert main(["patterns", "reference", "remove", "shop.test"]) == 2
    assert main(["patterns", "reference", "remove", "shop.test", "--all"]) == 0
    assert PatternStore(env).references("shop.test") == []
