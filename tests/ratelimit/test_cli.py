"""``opslib ratelimit show | set`` against a real database: plans, --dry-run, the audit log,
one-line errors with exit 2 (a rate of 0, a negative burst) that leave the limit in place."""

from __future__ import annotations

import json
from typing import Any

import pytest

from opslib.audit import AuditLog
from opslib.cli import main
from tests.dbkit import TestDatabase


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(["--json", "ratelimit", *argv])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def test_set_show_and_dry_run(env: TestDatabase, capsys: pytest.CaptureFixture[str]) -> None:
    code, plan, _ = _run(capsys, "set", "Alpha.test", "--rate", "2/s", "--dry-run")
    assert (code, plan["dry_run"], plan["changes"]) == (0, True, True)
    assert plan["summary"] == "alpha.test: 10/s, burst 20 (default) -> 2/s, burst 2"
    code, shown, _ = _run(capsys, "show")
    assert (code, shown["limits"]) == (0, [])  # the dry run changed nothing
    code, plan, _ = _run(capsys, "set", "alpha.test", "--rate", "120/m", "--burst", "4",
                         "--concurrency", "3")  # fmt: skip
    assert (code, plan["new"]["rate"], plan["new"]["burst"]) == (0, 2.0, 4)
    code, shown, _ = _run(capsys, "show", "alpha.test")
    [limit] = shown["limits"]
    assert (limit["rate_text"], limit["burst"], limit["concurrency"]) == ("2/s", 4, 3)
    assert limit["changed_by"] == "carol"
    code, plan, _ = _run(capsys, "set", "alpha.test", "--burst", "4")
    assert (code, plan["changes"]) == (0, False)
    audit = [(e.action, e.dry_run, e.outcome) for e in AuditLog(env).recent()]
    assert audit == [
        ("ratelimit.set", False, "ok"),
        ("ratelimit.set", False, "ok"),
        ("ratelimit.set", True, "ok"),
    ]


def test_text_output(env: TestDatabase, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ratelimit", "set", "beta.test", "--rate", "600/h"]) == 0
    assert capsys.readouterr().out == "beta.test: 10/s, burst 20 (default) -> 10/m, burst 1\n"
    assert main(["ratelimit", "show"]) == 0
    out = capsys.readouterr().out
    assert "beta.test" in out
    assert "default for any other domain: 10/s, burst 20" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rate", "0/s"], "a rate must be above 0"),
        (["--rate", "-1/s"], "write N/s, N/m or N/h"),
        (["--rate", "fast"], "write N/s, N/m or N/h"),
        (["--burst", "-3"], "--burst -3: at least 1"),
        (["--burst", "0"], "--burst 0: at least 1"),
        (["--concurrency", "0"], "--concurrency 0: at least 1"),
        ([], "give --rate, --burst or --concurrency"),
    ],
    ids=[
        "rate-0",
        "rate-negative",
        "rate-words",
        "burst-negative",
        "burst-0",
        "concurrency-0",
        "nothing",
    ],
)
def test_bad_input_is_one_line_and_keeps_the_limit(
    env: TestDatabase, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["ratelimit", "set", "alpha.test", "--rate", "3/s"]) == 0
    capsys.readouterr()
    assert main(["ratelimit", "set", "alpha.test", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert message in err
    assert main(["--json", "ratelimit", "show", "alpha.test"]) == 0
    [limit] = json.loads(capsys.readouterr().out)["limits"]
    assert (limit["rate"], limit["configured"]) == (3.0, True)


def test_a_bad_domain_is_one_line(env: TestDatabase, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ratelimit", "set", "not a domain", "--rate", "1/s"]) == 2
    assert "not a domain name" in capsys.readouterr().err
