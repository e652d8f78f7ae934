"""Strategies: the model (validation, headers, delays, backoff), reading files, versions and
rollback in a real database, and ``opslib strategies show | set | rollback``."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from opslib.audit import AuditLog
from opslib.cli import main
from opslib.domains import DomainControls, Strategy, read_strategy
from opslib.errors import InputError
from tests.dbkit import TestDatabase

GOOD = """\
headers_profile = "chrome-desktop"
user_agents = ["agent-one/1.0", "agent-two/2.0"]
delay_seconds = 1.5
jitter_seconds = 0.5
proxy_country = "DE"
sticky_proxy = true
retries = 3
backoff_seconds = 2
needs_browser = false

[headers]
Accept-Language = "de-DE"
"""


def test_the_model() -> None:
    strategy = Strategy(
        user_agents=("a/1", "b/2"), delay_seconds=1, jitter_seconds=0.5, retries=3,
        backoff_seconds=2, backoff_factor=3, headers={"X-Trace": "1"},
    )  # fmt: skip
    assert [strategy.request_headers(n)["User-Agent"] for n in range(3)] == ["a/1", "b/2", "a/1"]
    assert strategy.request_headers()["X-Trace"] == "1"
    assert all(1.0 <= strategy.delay(random.Random(n)) <= 1.5 for n in range(20))
    assert [strategy.backoff(n) for n in (1, 2, 3)] == [2, 6, 18]
    assert Strategy().request_headers()["User-Agent"] == "pricewatch-scraper/1.0"


def test_read_toml_and_json(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(GOOD)
    strategy = read_strategy(path)
    assert (strategy.proxy_country, strategy.retries, strategy.sticky_proxy) == ("de", 3, True)
    as_json = tmp_path / "s.json"
    as_json.write_text(json.dumps(strategy.as_dict()))
    assert read_strategy(as_json) == strategy


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("s.toml", "delay_seconds = -1\n", "delay_seconds: Input should be greater than or equal"),
        ("s.toml", "retries = 99\n", "retries: Input should be less than or equal to 10"),
        ("s.toml", "speed = 3\n", "speed: unknown setting (known: headers_profile"),
        ("s.toml", 'proxy_country = "germany"\n', "not a two-letter country code"),
        ("s.toml", 'headers_profile = "netscape"\n', "headers_profile: Input should be"),
        ("s.toml", 'user_agents = ["ok", ""]\n', "not a user agent"),
        ("s.toml", 'headers = {"Bad Name" = "x"}\n', "not a header name"),
        ("s.toml", "delay_seconds = \n", "not valid TOML"),
        ("s.json", "[1, 2]", "a strategy is a table of settings"),
        ("s.json", "{", "not valid JSON"),
        ("s.yaml", "retries: 1", "a .toml or .json file"),
        ("missing.toml", None, "cannot be read"),
        ("s.toml", "retries = -1\ndelay_seconds = -1\n", "(and 1 more)"),
    ],
)
def test_bad_strategies_are_one_line(
    tmp_path: Path, name: str, text: str | None, message: str
) -> None:
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    with pytest.raises(InputError) as caught:
        read_strategy(path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_versions_and_rollback(platform_db: TestDatabase) -> None:
    with platform_db.open() as db:
        controls = DomainControls(db)
        with pytest.raises(InputError, match="no strategy to roll back"):
            controls.rollback("alpha.test")
        before, first = controls.set_strategy("alpha.test", Strategy(retries=2), actor="carol")
        assert (before, first and first.version) == (None, 1)
        with pytest.raises(InputError, match="version 1 is the first"):
            controls.plan_rollback("alpha.test")
        _, second = controls.set_strategy("alpha.test", Strategy(retries=4), note="more")
        assert second is not None
        assert second.version == 2
        same_before, same = controls.set_strategy("alpha.test", Strategy(retries=4))
        assert same_before == same  # the same strategy again: nothing stored
        assert controls.strategy("alpha.test").retries == 4
        assert controls.strategy_version("alpha.test") == 2
        left, back = controls.rollback("alpha.test")
        assert (left.version, back.version) == (2, 1)
        assert controls.strategy("alpha.test").retries == 2
        versions = controls.versions("alpha.test")
        assert [(v.version, v.active) for v in versions] == [(2, False), (1, True)]
        assert controls.strategy("other.test") == Strategy()


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(["--json", "strategies", *argv])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def test_cli(
    platform_db: TestDatabase,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("OPSLIB_CONFIG", "OPSLIB_ACTOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPSLIB_DATABASE_DSN", platform_db.dsn)
    monkeypatch.setenv("OPSLIB_ACTOR", "carol")
    monkeypatch.chdir(tmp_path)
    good = tmp_path / "good.toml"
    good.write_text(GOOD)
    slower = tmp_path / "slower.json"
    slower.write_text(json.dumps({"delay_seconds": 5, "retries": 0}))
    code, plan, _ = _cli(capsys, "set", "alpha.test", "--file", str(good), "--dry-run")
    assert (code, plan["dry_run"], plan["changes"]) == (0, True, True)
    assert _cli(capsys, "show")[1] == {"strategies": []}  # the dry run stored nothing
    assert _cli(capsys, "set", "alpha.test", "--file", str(good))[1]["version"] == 1
    assert _cli(capsys, "set", "alpha.test", "--file", str(slower))[1]["version"] == 2
    code, shown, _ = _cli(capsys, "show", "alpha.test")
    assert [(v["version"], v["active"]) for v in shown["strategies"]] == [(2, True), (1, False)]
    code, plan, _ = _cli(capsys, "rollback", "alpha.test", "--dry-run")
    assert (code, plan["from"], plan["to"]) == (0, 2, 1)
    assert _cli(capsys, "show")[1]["strategies"][0]["version"] == 2  # still 2
    assert main(["strategies", "rollback", "alpha.test"]) == 0
    assert capsys.readouterr().out == "alpha.test: rolled back from v2 to v1\n"
    assert main(["strategies", "show"]) == 0
    assert capsys.readouterr().out.startswith("alpha.test v1 (active), profile chrome-desktop")
    # bad input: one line, exit 2, nothing stored
    bad = tmp_path / "bad.toml"
    bad.write_text("retries = 11\n")
    assert main(["strategies", "set", "alpha.test", "--file", str(bad)]) == 2
    out, err = capsys.readouterr()
    assert (out, len(err.strip().splitlines())) == ("", 1)
    assert "retries: Input should be less than or equal to 10" in err
    assert main(["strategies", "rollback", "alpha.test"]) == 2
    assert "nothing to roll back to" in capsys.readouterr().err
    audit = [(e.action, e.dry_run, e.outcome) for e in AuditLog(platform_db).recent()]
    assert audit == [
        ("strategies.rollback", False, "failed"),
        ("strategies.rollback", False, "ok"),
        ("strategies.rollback", True, "ok"),
        ("strategies.set", False, "ok"),
        ("strategies.set", False, "ok"),
        ("strategies.set", True, "ok"),
    ]
