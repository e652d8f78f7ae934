"""``opslib security analyze | block | unblock | list | firewall`` on a real database: exit
statuses, --dry-run, --json, the audit log, refusals, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from opslib.audit import AuditLog
from opslib.cli import main
from tests.dbkit import TestDatabase
from tests.security._logs import NOW, clf, seconds


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(["--json", "security", *argv])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def _log(tmp_path: Path) -> Path:
    lines = []
    for i in range(300):
        at = NOW + seconds(i)
        lines.append(clf(f"10.0.1.{i % 10}", f"/api/v1/prices?api_key=sk_secret_{i % 10}", at=at))
        lines.append(clf("10.6.6.6", "/login", 401, at=at))
    path = tmp_path / "access.log"
    path.write_bytes(b"".join(lines))
    return path


def test_analyze_ranks_the_attacker(
    env: TestDatabase, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, data, _ = _run(capsys, "analyze", str(_log(tmp_path)), "--since", "100000d")
    assert code == 2
    assert data["suspects"][0]["client"] == "10.6.6.6"
    assert data["suspects"][0]["action"].startswith("opslib security block 10.6.6.6")
    assert "sk_secret" not in json.dumps(data)
    assert main(["security", "analyze", str(tmp_path / "missing.log")]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0


def test_block_list_unblock_audited(env: TestDatabase, capsys: pytest.CaptureFixture[str]) -> None:
    code, plan, _ = _run(capsys, "block", "10.6.6.6", "--for", "2h", "--reason", "x", "--dry-run")
    assert code == 0
    assert plan["action"] == "block"
    assert plan["dry_run"]
    assert env.fetch_one("SELECT count(*) AS n FROM opslib.blocklist") == {"n": 0}
    code, plan, _ = _run(capsys, "block", "10.6.6.6", "--for", "2h", "--reason", "brute force")
    assert code == 0
    assert plan["action"] == "block"
    code, rows, _ = _run(capsys, "list")
    assert [r["network"] for r in rows] == ["10.6.6.6/32"]
    assert rows[0]["actor"] == "carol"
    code, plan, _ = _run(capsys, "unblock", "10.6.6.6")
    assert code == 0
    assert plan["action"] == "unblock"
    actions = [(e.action, e.dry_run, e.outcome) for e in AuditLog(env).recent(5)]
    assert actions[:3] == [
        ("security.unblock", False, "ok"),
        ("security.block", False, "ok"),
        ("security.block", True, "ok"),
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["block", "0.0.0.0/0", "--reason", "x"], "every address"),
        (["block", "::/0", "--reason", "x"], "every address"),
        (["block", "127.0.0.0/8", "--reason", "x"], "your own address"),
        (["block", "10.0.0.300", "--reason", "x"], "not an IP address or CIDR"),
        (["block", "10.0.0.1", "--for", "soon", "--reason", "x"], "not a duration"),
        (["block", "10.0.0.1", "--reason", "  "], "say why"),
        (["analyze", "--since", "forever", "-"], "not a duration"),
    ],
)
def test_refusals_and_bad_input_are_one_line_exit_2(
    env: TestDatabase, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["security", *argv]) == 2
    out, err = capsys.readouterr()
    assert message in err
    assert "Traceback" not in err
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert env.fetch_one("SELECT count(*) AS n FROM opslib.blocklist") == {"n": 0}


def test_firewall_rules(
    env: TestDatabase, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for target in ("10.6.6.6", "2001:db8::/48"):
        assert main(["security", "block", target, "--reason", "scan"]) == 0
    capsys.readouterr()
    code, data, _ = _run(capsys, "firewall")
    assert code == 0
    assert data["networks"] == 2
    assert "elements = { 10.6.6.6/32 }" in data["rules"]
    assert "elements = { 2001:db8::/48 }" in data["rules"]
    code, data, _ = _run(capsys, "firewall", "--format", "nginx")
    assert "deny 10.6.6.6/32;" in data["rules"]
    assert "deny 2001:db8::/48;" in data["rules"]
    include = tmp_path / "blocked.conf"
    code, data, _ = _run(
        capsys, "firewall", "--format", "nginx", "--output", str(include), "--apply"
    )
    assert code == 0
    assert "deny 10.6.6.6/32;" in include.read_text()
    assert AuditLog(env).recent(1)[0].action == "security.firewall"
