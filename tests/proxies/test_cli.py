"""``opslib proxies ...`` against a real database (and the lab for the live tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opslib.adapters import Database
from opslib.cli import main
from opslib.lab import Lab

LIST = (
    b"""# a messy list
10.0.0.1:3128
http://alice:hunter2secret@10.0.0.2:8080
socks5://10.0.0.3:1080,de
ftp://10.0.0.4:21
10.0.0.5:99999
\xff\xfe not utf-8
10.0.0.1:3128
{"url": "https://10.0.0.6:443", "country": "fr", "tags": ["dc"]}
{"url": broken json
"""
    + b"x" * 10_000
    + b"\n10.0.0.7:80\n"
)


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    code = main(["--json", *argv])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def test_update_reports_bad_lines_and_merges(
    env: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "list.txt"
    path.write_bytes(LIST)
    code, dry, err = _json(capsys, ["proxies", "update", str(path), "--dry-run"])
    assert code == 0
    assert (dry["added"], dry["removed"], dry["duplicates_merged"]) == (5, 0, 1)
    assert dry["skipped_lines"] == 1  # the comment: not a proxy, not a problem
    lines = {p["line"]: p["problem"] for p in dry["problems"]}
    assert set(lines) == {5, 6, 7, 10, 11}
    assert "unknown scheme" in lines[5]
    assert "out of range" in lines[6]
    assert "UTF-8" in lines[7]
    assert "list.txt:5:" in err
    assert env.fetch_one("SELECT count(*) AS n FROM opslib.proxies") == {"n": 0}
    code, done, _ = _json(capsys, ["proxies", "update", str(path)])
    assert (code, done["added"]) == (0, 5)
    path.write_bytes(b"10.0.0.1:3128\n10.0.0.7:80\n")
    code, again, _ = _json(capsys, ["proxies", "update", str(path)])
    assert (again["added"], again["removed"], again["unchanged"]) == (0, 3, 2)
    code, listed, _ = _json(capsys, ["proxies", "list"])
    states = {p["url"]: p["state"] for p in listed}
    assert states["http://10.0.0.2:8080"] == "retired"
    assert "hunter2secret" not in json.dumps(listed)
    audit = env.fetch_all("SELECT action, dry_run FROM opslib.audit_log ORDER BY id")
    assert [(a["action"], a["dry_run"]) for a in audit][:2] == [
        ("proxies.update", True),
        ("proxies.update", False),
    ]
    assert "hunter2secret" not in json.dumps(
        env.fetch_all("SELECT * FROM opslib.audit_log"), default=str
    )


def test_update_of_a_huge_file_does_not_crash(
    env: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as fh:
        fh.write(b"10.1.0.1:3128\n")
        fh.write(b"y" * (100 * 1024 * 1024))  # one 100 MB line
        fh.write(b"\n10.1.0.2:3128\n")
    code, out, _ = _json(capsys, ["proxies", "update", str(path), "--dry-run"])
    assert code == 0
    assert out["added"] == 2
    assert out["problems"] == [
        {"source": "huge.txt", "line": 2, "problem": "line longer than 4096 bytes"}
    ]


def test_missing_file_is_one_line_error(
    env: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["proxies", "update", "/nonexistent/list"]) == 2  # bad input
    assert "cannot read" in capsys.readouterr().err
    assert main(["proxies", "update", str(tmp_path)]) == 2  # a directory
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0
    assert "a directory" in err


def test_config_and_rotate_dry_run(env: Database, capsys: pytest.CaptureFixture[str]) -> None:
    code, shown, _ = _json(
        capsys, ["proxies", "config", "alpha.test", "--sticky", "--max-concurrency", "2",
                 "--ban-status", "403", "--dry-run"],
    )  # fmt: skip
    assert (code, shown["sticky"], shown["dry_run"]) == (0, True, True)
    assert env.fetch_one("SELECT count(*) AS n FROM opslib.proxy_policies") == {"n": 0}
    _json(capsys, ["proxies", "config", "alpha.test", "--country", "DE", "--sticky"])
    row = env.fetch_one("SELECT country, sticky FROM opslib.proxy_policies")
    assert row == {"country": "de", "sticky": True}
    assert main(["proxies", "config", "alpha.test", "--country", "Germany"]) == 2  # bad input
    env.execute(
        "INSERT INTO opslib.proxies (url, scheme, host, port, country, check_ok)"
        " VALUES ('http://10.0.0.1:1', 'http', '10.0.0.1', 1, 'de', false),"
        " ('http://10.0.0.2:1', 'http', '10.0.0.2', 1, 'fr', false)"
    )
    env.execute(
        "INSERT INTO opslib.proxies (url, scheme, host, port, country, state)"
        " VALUES ('http://10.0.0.3:1', 'http', '10.0.0.3', 1, 'fr', 'reserve')"
    )
    code, plan, _ = _json(capsys, ["proxies", "rotate", "--dry-run"])
    assert len(plan["quarantine"]) == 2
    assert [u for u, _why in plan["promote"]] == ["http://10.0.0.3:1"]
    states = env.fetch_all("SELECT state FROM opslib.proxies ORDER BY url")
    assert [s["state"] for s in states] == ["active", "active", "reserve"]


def test_test_and_health_against_the_lab(
    healthy_lab: Lab, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPSLIB_CONFIG", str(healthy_lab.config_file))
    code, out, _ = _json(capsys, ["proxies", "test"])
    lab_results = [r for r in out["results"] if r["url"].startswith("http://127.0.0.1:")]
    assert len(lab_results) == 6
    assert all(r["status"] == "ok" and r["leaks"] is False for r in lab_results), lab_results
    exits = {r["exit_ip"] for r in lab_results}
    assert exits == {healthy_lab.settings.proxy_source_ip(i) for i in range(6)}
    leaky, dead = healthy_lab.settings.proxies[0][0], healthy_lab.settings.proxies[1][0]
    healthy_lab.inject("proxy-leaking", target=leaky)
    healthy_lab.inject("proxy-dead", target=dead)
    try:
        dry_code, dry, _ = _json(capsys, ["proxies", "test", "--dry-run"])
        recorded_after_dry_run = _check_ok(healthy_lab)
        code, out, _ = _json(capsys, ["proxies", "test"])
        recorded = _check_ok(healthy_lab)
    finally:
        healthy_lab.heal()
    by_url = {r["url"]: r for r in out["results"]}
    assert code == dry_code == 1
    assert by_url[leaky]["leaks"] is True
    assert by_url[dead]["status"] == "failed"
    assert {r["url"]: r["status"] for r in dry["results"]}[dead] == "failed"
    assert recorded_after_dry_run[dead] is True  # the dry run recorded nothing
    assert recorded[dead] is False
    code, out, _ = _json(capsys, ["proxies", "health"])
    assert out["tested"] == 3
    with healthy_lab.database() as db:
        audit = db.fetch_all(
            "SELECT action, dry_run, detail FROM opslib.audit_log"
            " WHERE action IN ('proxies.test', 'proxies.health') ORDER BY id DESC LIMIT 4"
        )
    assert [(a["action"], a["dry_run"]) for a in audit] == [
        ("proxies.health", False), ("proxies.test", False), ("proxies.test", True),
        ("proxies.test", False),
    ]  # fmt: skip
    assert audit[2]["detail"].endswith("2 failing or leaking")


def _check_ok(lab: Lab) -> dict[str, bool | None]:
    with lab.database() as db:
        rows = db.fetch_all("SELECT url, check_ok FROM opslib.proxies")
    return {r["url"]: r["check_ok"] for r in rows}


def test_targets_fail_a_proxy_the_shops_refuse(
    healthy_lab: Lab, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPSLIB_CONFIG", str(healthy_lab.config_file))
    banned = healthy_lab.settings.proxies[5][0]
    healthy_lab.inject("proxy-banned", target=banned)
    try:
        code, out, _ = _json(capsys, ["proxies", "test", "--targets"])
        judged_only = _json(capsys, ["proxies", "test"])[1]
    finally:
        healthy_lab.heal()
    by_url = {r["url"]: r for r in out["results"]}
    assert code == 1
    assert (by_url[banned]["status"], by_url[banned]["http_status"]) == ("failed", 403)
    assert "refused it: HTTP 403" in by_url[banned]["error"]
    others = [r for url, r in by_url.items() if url != banned and url.startswith("http://127.")]
    assert [r["status"] for r in others] == ["ok"] * len(others), others
    # The judge alone cannot see a ban: without --targets the banned proxy passes.
    assert {r["url"]: r["status"] for r in judged_only["results"]}[banned] == "ok"
