"""Plan files: the default plan, options, and bad input as one line with exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from opslib.cli import main
from opslib.errors import InputError
from opslib.procedure import RUNBOOK_STEPS, Plan, read_plan
from tests.support import without_opslib_environment


def _plan(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.toml"
    path.write_text(text)
    return path


def test_default_plan_is_the_runbook_order(tmp_path: Path) -> None:
    plan = read_plan(_plan(tmp_path, 'reason = "deploy"\n'))
    assert plan.steps == RUNBOOK_STEPS
    assert plan.reason == "deploy"
    assert Plan.from_dict(plan.as_dict()) == plan


def test_steps_and_options(tmp_path: Path) -> None:
    text = 'steps = ["backup", "migrations"]\n[step.migrations]\ndirectory = "/srv/m"\n'
    plan = read_plan(_plan(tmp_path, text))
    assert plan.steps == ("backup", "migrations")
    assert [s.name for s in plan.procedure()] == ["backup", "migrations"]
    assert Plan.from_dict(plan.as_dict()).options == {"migrations": {"directory": "/srv/m"}}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('steps = ["backup", "reboot"]\n', "unknown step 'reboot'"),
        ("[step.teleport]\nx = 1\n", "unknown step 'teleport'"),
        ("steps = [\n", "not valid TOML"),
        ("[step.backup]\nkind = 'weekly'\n", "step.backup.kind"),
        ("[step.backup]\ncolour = 'red'\n", "step.backup.colour"),
        ('steps = ["backup", "backup"]\n', "listed twice"),
        ("steps = 3\n", "steps must be a list"),
        ("colour = 1\n", "unknown key 'colour'"),
    ],
    ids=["unknown-step", "unknown-options", "toml", "bad-value", "bad-key", "twice", "type", "key"],
)
def test_bad_plans(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        read_plan(_plan(tmp_path, text))


@pytest.mark.parametrize(
    "text", ['steps = ["reboot"]\n', "steps = [\n"], ids=["unknown-step", "does-not-parse"]
)
def test_bad_plan_on_the_command_line(
    tmp_path: Path,
    text: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    without_opslib_environment(monkeypatch)
    monkeypatch.chdir(tmp_path)
    path = _plan(tmp_path, text)
    assert main(["maintenance", "run", "--plan", str(path), "--dry-run"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith(f"opslib: error: plan {path}: ")


def test_missing_plan_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["maintenance", "run", "--plan", str(tmp_path / "nope.toml")]) == 2
    assert "no such file" in capsys.readouterr().err
