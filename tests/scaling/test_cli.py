"""``opslib scale`` and ``opslib limits`` end to end: dry runs change nothing, refusals are one
line with exit 2 and nothing applied, every run is in the audit log; compose and swarm alike."""

from __future__ import annotations

import json
from typing import Any

import docker
import pytest

from opslib.audit import AuditLog
from opslib.cli import main
from tests.dbkit import TestDatabase
from tests.scaling.conftest import SERVICE, ComposeProject, make_service, remove_service


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(["--json", *argv])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def test_compose_commands(
    env: TestDatabase,
    compose: ComposeProject,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OPSLIB_COMPOSE_PROJECT", compose.project)
    code, plan, _ = _run(capsys, "scale", SERVICE, "4", "--dry-run")
    assert (code, plan["dry_run"], plan["current"], plan["wanted"]) == (0, True, 2, 4)
    assert len(compose.running_names()) == 2
    for bad in ("-1", "6"):
        code, out, err = _run(capsys, "scale", SERVICE, "--", bad)
        assert (code, out) == (2, None)
        assert len(err.strip().splitlines()) == 1, err
        assert "Traceback" not in err
    assert "scale.max_replicas = 5" in err
    code, done, _ = _run(capsys, "scale", SERVICE, "3")
    assert (code, done["after"], len(done["started"])) == (0, 3, 1)
    assert len(compose.running_names()) == 3

    code, plan, _ = _run(capsys, "limits", "set", SERVICE, "--cpus", "1.5", "--memory", "1g",
                         "--dry-run")  # fmt: skip
    assert (code, plan["wanted"]) == (0, {"cpus": 1.5, "memory_bytes": 1 << 30})
    code, out, err = _run(capsys, "limits", "set", SERVICE, "--memory", "1m")
    assert code == 2
    assert "at least 6m" in err
    code, done, _ = _run(capsys, "limits", "set", SERVICE, "--cpus", "1.5", "--memory", "1g")
    assert (code, len(done["updated"])) == (0, 3)
    code, shown, _ = _run(capsys, "limits", "show", SERVICE)
    assert shown["services"] == [
        {"service": SERVICE, "cpus": 1.5, "memory_bytes": 1 << 30, "replicas": 3}
    ]
    _run(capsys, "scale", SERVICE, "4")
    assert {c.attrs["HostConfig"]["Memory"] for c in compose.containers()} == {1 << 30}

    actions = [(e.action, e.dry_run, e.outcome) for e in AuditLog(env).recent(20)]
    assert actions[::-1] == [
        ("scale", True, "ok"),
        ("scale", False, "failed"),
        ("scale", False, "failed"),
        ("scale", False, "ok"),
        ("limits.set", True, "ok"),
        ("limits.set", False, "ok"),
        ("scale", False, "ok"),
    ]


def test_swarm_backend(
    env: TestDatabase,
    swarm: docker.DockerClient,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    made = make_service(swarm, replicas=1)
    try:
        monkeypatch.setenv("OPSLIB_COMPOSE_PROJECT", made.project)
        monkeypatch.setenv("OPSLIB_SCALE__BACKEND", "swarm")
        code, done, err = _run(capsys, "scale", SERVICE, "2")
        assert (code, done["backend"], done["after"]) == (0, "swarm", 2), err
        code, done, err = _run(capsys, "limits", "set", SERVICE, "--cpus", "0.5")
        assert (code, done["updated"]) == (0, [made.name]), err
        code, shown, _ = _run(capsys, "limits", "show", SERVICE)
        assert shown["services"][0]["cpus"] == 0.5
        code, _out, err = _run(capsys, "scale", "nosuch", "1")
        assert code == 2
        assert "no swarm service" in err
    finally:
        remove_service(made)
