"""``opslib quality by-domain``: text, --json, exit status by worst severity, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from opslib.cli import main
from tests.dbkit import TestDatabase
from tests.quality.test_by_domain import _rows, _steady, _url
from tests.support import free_port


@pytest.fixture
def env(platform_db: TestDatabase, monkeypatch: pytest.MonkeyPatch) -> TestDatabase:
    for key in [k for k in os.environ if k.startswith("OPSLIB_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("OPSLIB_DATABASE_DSN", platform_db.dsn)
    monkeypatch.chdir(Path(__file__).parent)  # no opslib.toml here
    return platform_db


def test_text_table_and_ok(env: TestDatabase, capsys: pytest.CaptureFixture[str]) -> None:
    _steady(env, "alpha.test")
    _steady(env, "bravo.test", start=10)
    assert main(["quality", "by-domain"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == [
        "domain", "rows", "confidence", "missing", "implausible", "overdue",
        "confidence", "7d", "missing", "7d",
    ]  # fmt: skip
    assert lines[2].split()[:6] == ["alpha.test", "30", "0.950", "0.0%", "0", "0/5"]
    assert "OK: quality by domain (last 1 h)" in out


def test_json_figures_and_critical(env: TestDatabase, capsys: pytest.CaptureFixture[str]) -> None:
    _steady(env, "alpha.test", missing_every=2)
    _steady(env, "bravo.test", start=10)
    assert main(["quality", "by-domain", "--json", "--hours", "2"]) == 2
    payload = json.loads(capsys.readouterr().out)
    assert payload["severity"] == "CRITICAL"
    assert payload["hours"] == 2
    alpha, bravo = payload["domains"]
    assert (alpha["domain"], alpha["rows"], alpha["missing"]) == ("alpha.test", 35, 15)
    assert alpha["zero"] == 0
    assert alpha["currency_changes"] == 0
    judged = {m["name"]: m["severity"] for m in alpha["measurements"]}
    assert judged["missing_price_rate"] == "CRITICAL"
    assert judged["confidence"] == "OK"
    assert {m["severity"] for m in bravo["measurements"]} == {"OK"}


def test_warning_exits_1(env: TestDatabase, capsys: pytest.CaptureFixture[str]) -> None:
    _steady(env, "alpha.test", urls=15)
    _rows(env, _url(env, "alpha.test", 99), [(300, 10.0, 0.9, "EUR")])  # 1 of 16 overdue
    assert main(["--json", "quality", "by-domain"]) == 1
    assert json.loads(capsys.readouterr().out)["severity"] == "WARNING"


def test_no_rows_and_no_urls_is_unknown(
    env: TestDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["quality", "by-domain"]) == 3
    assert "UNKNOWN" in capsys.readouterr().out


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("OPSLIB_")}
    return subprocess.run(
        [sys.executable, "-m", "opslib.cli", *argv],
        env={**base, "OPSLIB_TIMEOUTS__CONNECT": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_errors_are_one_line(platform_db: TestDatabase) -> None:
    closed = f"host=127.0.0.1 port={free_port()} dbname=x user=u password=NotShown123"
    unreachable = _run(["quality", "by-domain"], {"OPSLIB_DATABASE_DSN": closed})
    bad_hours = _run(["quality", "by-domain", "--hours", "0"], {"OPSLIB_DATABASE_DSN": closed})
    platform_db.execute("ALTER TABLE price_history RENAME TO prices")
    no_table = _run(["quality", "by-domain"], {"OPSLIB_DATABASE_DSN": platform_db.dsn})
    for run, status in ((unreachable, 3), (bad_hours, 2), (no_table, 3)):
        assert run.returncode == status, run.stderr
        assert "Traceback" not in run.stderr
        assert "NotShown123" not in run.stderr + run.stdout
    assert len(unreachable.stderr.strip().splitlines()) == 1
    assert "table price_history not found" in no_table.stderr
    assert len(no_table.stderr.strip().splitlines()) == 1
    assert "--hours" in bad_hours.stderr
