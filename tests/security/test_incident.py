"""The incident record and its report on a real database: opened by the first block, the
timeline from the audit log, blocked sources and revoked keys, Markdown and HTML, no secret."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opslib.cli import main
from opslib.security import KeyStore, generate_incident_report
from tests.dbkit import TestDatabase
from tests.security.conftest import PEPPER


def test_first_action_opens_the_incident_and_the_report_collects_it(
    env: TestDatabase, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    made, key = KeyStore(env, PEPPER).create("acme")
    assert main(["security", "block", "10.6.6.6", "--for", "2h", "--reason", "brute force"]) == 0
    assert "incident 1 opened" in "".join(capsys.readouterr())
    assert main(["keys", "revoke", made.prefix, "--reason", "leaked"]) == 0
    capsys.readouterr()
    assert main(["--json", "security", "incident", "open", "--title", "again"]) == 0
    assert json.loads(capsys.readouterr().out)["opened"] is False
    md, page = tmp_path / "report.md", tmp_path / "report.html"
    argv = ["security", "report", "--incident", "1", "--markdown", str(md), "--html", str(page)]
    assert main(argv) == 0
    text = md.read_text()
    assert "# Incident 1: block 10.6.6.6/32: brute force" in text
    assert "| 10.6.6.6/32 | brute force |" in text
    assert f"| acme | {made.prefix} | revoked |" in text
    for action in ("security.block", "keys.revoke", "incident.open"):
        assert action in text
    assert "10.6.6.6/32" in page.read_text()
    for written in (text, page.read_text()):
        assert key not in written
        assert PEPPER not in written
    report = generate_incident_report(env, 1)
    assert report.followups  # the block expires: extend or not
    assert main(["security", "report", "--incident", "9"]) == 2
    assert "no incident 9" in capsys.readouterr().err
