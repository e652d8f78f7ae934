"""``opslib capacity report`` and ``opslib review weekly``: text, JSON, a self-contained HTML
page, and one-line errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from opslib.cli import main
from tests.capacity.conftest import Seeder


@pytest.fixture
def env(seeded: Seeder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = seeded(60)
    monkeypatch.setenv("OPSLIB_DATABASE_DSN", db.dsn)
    monkeypatch.setenv("OPSLIB_PROMETHEUS_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("OPSLIB_BACKUPS__BACKUP_DIR", str(tmp_path))
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    return tmp_path


def test_capacity_text_json_and_html(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = env / "capacity.html"
    status = main(["capacity", "report", "--html", str(page)])
    out = capsys.readouterr().out
    assert status == 3  # replicas unknown without Docker: UNKNOWN
    assert "forecasts backtested" in out
    assert "MAPE" in out
    html = page.read_text()
    assert page.stat().st_mode & 0o777 == 0o644
    assert html.count("<svg") >= 2
    assert not re.search(r"(src|href)=|<script|@import|url\(", html)
    assert main(["capacity", "report", "--json"]) == 3
    payload = json.loads(capsys.readouterr().out)
    assert payload["backtests"][0]["mape"] < 0.1
    assert {f["name"] for f in payload["forecasts"]} >= {"database size", "URLs monitored"}


def test_review_text_json_and_html(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = env / "review.html"
    assert main(["review", "weekly", "--html", str(page)]) == 3  # Prometheus unreachable
    out = capsys.readouterr().out
    assert "areas for optimisation" in out
    assert "<svg" in page.read_text()
    main(["review", "weekly", "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert payload["results"][0]["severity"] == "OK"
    assert payload["results"][2]["severity"] == "UNKNOWN"


def test_html_into_a_missing_directory_is_one_line(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["review", "weekly", "--html", str(env / "no" / "r.html")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "does not exist" in err[0]
