"""``opslib maintenance run`` against the lab, as the operator runs it (a subprocess): a full
run, a kill -9 during each step in turn with ``--status`` and ``--resume``, two runs at once."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from opslib.audit import AuditLog
from opslib.backups import Catalog
from opslib.config import load_settings, toml_value
from opslib.lab import Lab
from opslib.procedure import PAUSE_ENV, RUNBOOK_STEPS
from tests.labkit import require_docker_lab
from tests.notify.receivers import Hooks, hooks
from tests.support import free_port


@dataclass
class Setup:
    lab: Lab
    config: Path
    plan: Path
    webhook: Hooks
    table: str
    tmp: Path

    def env(self, pause: str | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPSLIB_")}
        env.update(OPSLIB_CONFIG=str(self.config), OPSLIB_ACTOR="proc-test")
        if pause:
            env[PAUSE_ENV] = pause
        return env

    def opslib(self, *argv: str, timeout: float = 200) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "opslib.cli", *argv],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start_paused(self, pause: str, *argv: str) -> subprocess.Popen[str]:
        """A run that stops at ``pause``; returns once it says it paused there."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "opslib.cli", "maintenance", "run", *argv],
            env=self.env(pause),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        seen = []
        deadline = time.monotonic() + 150
        for line in proc.stderr:
            seen.append(line)
            if "test hook: paused at" in line:
                return proc
            if time.monotonic() > deadline:
                break
        _kill(proc)
        raise AssertionError(f"never paused at {pause}: {''.join(seen)[-2000:]}")

    def status(self) -> dict[str, Any]:
        done = self.opslib("--json", "maintenance", "run", "--status")
        payload: dict[str, Any] = json.loads(done.stdout)
        payload["exit"] = done.returncode
        return payload


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    if proc.stderr is not None:
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL


@pytest.fixture
def setup(lab: Lab, tmp_path: Path) -> Iterator[Setup]:
    lab.heal()
    tag = uuid.uuid4().hex[:8]
    table = f"proc_test_{tag}"
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "0001_note.sql").write_text(
        f"CREATE TABLE {table} (id serial PRIMARY KEY, note text NOT NULL);\n"
    )
    (migrations / "README.txt").write_text("not a migration\n")
    settings = load_settings(lab.config_file)
    config_set = tmp_path / "config-set"
    config_set.mkdir()
    for path in settings.backups.config_paths:
        shutil.copy2(path, config_set / path.name)
    with hooks() as webhook:
        config = tmp_path / "opslib.toml"
        extra = [
            "",
            "[notify]",
            'contact = "ops@example.test"',
            "[[notify.channels]]",
            'type = "webhook"',
            'name = "ops-hook"',
            f"url = {toml_value(webhook.recording_url)}",
            "",
            "[procedure]",
            "stop_timeout = 5",
            "start_timeout = 60",
            "health_seconds = 60",
            "data_flow_seconds = 90",
            "window_minutes = 30",
        ]
        config.write_text(lab.config_file.read_text() + "\n".join(extra) + "\n")
        config.chmod(0o600)
        plan = tmp_path / "plan.toml"
        plan.write_text(
            "\n".join(
                [
                    'reason = "procedure test"',
                    "[step.pull_images]",
                    f'registry = "http://127.0.0.1:{free_port()}"',
                    "timeout = 1",
                    "[step.migrations]",
                    f"directory = {toml_value(str(migrations))}",
                    f'set_name = "t_{tag}"',
                    "[step.update_configs]",
                    f"source = {toml_value(str(config_set))}",
                ]
            )
            + "\n"
        )
        yield Setup(lab, config, plan, webhook, table, tmp_path)
    # Whatever happened, leave the lab running and out of maintenance.
    subprocess.run(
        [sys.executable, "-m", "opslib.cli", "maintenance", "run", "--abandon"],
        env={**os.environ, "OPSLIB_CONFIG": str(config)},
        capture_output=True,
        check=False,
    )
    subprocess.run(
        [sys.executable, "-m", "opslib.cli", "maintenance", "off"],
        env={**os.environ, "OPSLIB_CONFIG": str(config)},
        capture_output=True,
        check=False,
    )
    for index in range(1, lab.settings.workers + 1):
        lab.start_worker(index)


def _docker(lab: Lab) -> bool:
    return lab.status().mode == "docker"


def test_full_run(setup: Setup) -> None:
    require_docker_lab(setup.lab)  # stop/start act on the lab's containers
    lab = setup.lab
    started = time.time()
    dry = setup.opslib("maintenance", "run", "--plan", str(setup.plan), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert [ln.split(".", 1)[0] for ln in dry.stdout.splitlines()[1:]] == [
        str(i) for i in range(1, 13)
    ]
    assert "12. completion_notice: send the completion notice to ops-hook" in dry.stdout
    assert setup.webhook.received == []  # a dry run sends nothing

    done = setup.opslib("--json", "maintenance", "run", "--plan", str(setup.plan))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    states = {s["step"]: s["state"] for s in report["steps"]}
    assert list(states) == list(RUNBOOK_STEPS)
    expected = dict.fromkeys(RUNBOOK_STEPS, "done")
    if not _docker(lab):
        expected.update(stop_services="skipped", start_services="skipped", pull_images="skipped")
    assert states == expected
    details = {s["step"]: s["detail"] for s in report["steps"]}
    assert "cannot be reached" in details["pull_images"] or not _docker(lab)
    assert "not pulled" in details["pull_images"] or not _docker(lab)
    assert f"t_{setup.table[-8:]}" not in details["migrations"]  # shown by folder name
    assert "migrations/0001_note" in details["migrations"]
    assert "new rows from all 8 domain(s)" in details["verify_data_flow"]

    # notices: the maintenance notice, then the completion notice, on the local receiver
    kinds = [r.body.get("kind") for r in setup.webhook.received]
    assert kinds == ["maintenance", "completion"], setup.webhook.received
    assert "procedure test" in json.dumps(setup.webhook.received[0].body)

    with lab.database() as db:
        row = db.fetch_one("SELECT to_regclass(%s) IS NOT NULL AS ok", (setup.table,))
        assert row is not None
        assert row["ok"]  # the platform migration was applied
        run = db.fetch_one(
            "SELECT id, state, facts FROM opslib.procedure_runs ORDER BY id DESC LIMIT 1"
        )
        assert run is not None
        assert run["state"] == "completed"
        backup = Catalog(db, load_settings(setup.config).backups.backup_dir).get(
            run["facts"]["backup"]
        )
        assert backup is not None
        assert backup.state == "complete"
        # maintenance mode: one window opened and closed by this run, none open now
        windows = db.fetch_all(
            "SELECT reason, ended_at FROM opslib.maintenance_windows"
            " WHERE started_at > to_timestamp(%s)",
            (started,),
        )
        assert [(w["reason"], w["ended_at"] is not None) for w in windows] == [
            ("procedure test", True)
        ]
        audit = [e.action for e in AuditLog(db).recent(40) if e.action.startswith("maintenance")]
        for step in RUNBOOK_STEPS:
            assert f"maintenance.run.{step}" in audit
    if _docker(lab):
        assert len(run["facts"]["stopped"]) == lab.settings.workers
        workers = [c for c in lab.status().components if c.kind == "container"]
        assert workers
        assert all(c.running for c in workers)

    again = setup.opslib("maintenance", "run", "--status")
    assert again.returncode == 0
    assert "completed" in again.stdout


def test_kill_during_each_step_then_resume(setup: Setup) -> None:
    """kill -9 after each step's work (before it is recorded done): status says killed during
    that step, and --resume continues at it; the last resume completes the run."""
    require_docker_lab(setup.lab)  # stop/start act on the lab's containers
    args = ["--plan", str(setup.plan)]
    for step in RUNBOOK_STEPS:
        proc = setup.start_paused(step, *args)
        _kill(proc)
        status = setup.status()
        assert status["exit"] == 2
        assert status["run"]["state"] == "killed"
        assert status["run"]["current_step"] == step
        steps = {s["name"]: s["state"] for s in status["run"]["steps"]}
        assert steps[step] == "running"
        text = setup.opslib("maintenance", "run", "--status").stdout
        assert f"was killed during step {step}" in text
        assert f"--resume` continues at step {step}" in text
        args = ["--resume"]
    done = setup.opslib("--json", "maintenance", "run", "--resume")
    assert done.returncode == 0, done.stderr
    states = {s["step"]: s["state"] for s in json.loads(done.stdout)["steps"]}
    assert set(states.values()) <= {"done", "skipped"}
    assert setup.status()["run"]["state"] == "completed"
    assert setup.status()["maintenance"] == "off"
    kinds = [r.body.get("kind") for r in setup.webhook.received]
    assert kinds.count("maintenance") >= 1
    assert kinds.count("completion") >= 1


def test_two_runs_at_once(setup: Setup) -> None:
    first = setup.start_paused("notice:before", "--plan", str(setup.plan))
    try:
        second = setup.opslib("maintenance", "run", "--plan", str(setup.plan))
        assert second.returncode != 0
        assert "refused: maintenance run" in second.stderr
        assert "is in progress" in second.stderr
        assert setup.status()["exit"] == 1  # running, alive
        resume = setup.opslib("maintenance", "run", "--resume")
        assert "refused" in resume.stderr
        assert resume.returncode != 0
    finally:
        _kill(first)
    abandon = setup.opslib("maintenance", "run", "--abandon")
    assert abandon.returncode == 0, abandon.stderr
    assert setup.status()["exit"] == 0


def test_emergency_with_a_sql_fix(setup: Setup) -> None:
    require_docker_lab(setup.lab)  # stop/start act on the lab's containers
    fix = setup.tmp / "fix.sql"
    fix.write_text(f"CREATE TABLE {setup.table}_fix (id int);\n")
    done = setup.opslib("--json", "maintenance", "emergency", "--fix-sql", str(fix))
    assert done.returncode == 0, done.stderr
    states = {s["step"]: s["state"] for s in json.loads(done.stdout)["steps"]}
    assert list(states) == [
        "stop_services",
        "backup",
        "fix",
        "start_services",
        "verify_health",
        "verify_data_flow",
        "monitor",
    ]
    assert states["fix"] == "done"
    assert states["verify_data_flow"] == "done"
    assert states["stop_services"] == ("done" if _docker(setup.lab) else "skipped")
    with setup.lab.database() as db:
        row = db.fetch_one("SELECT to_regclass(%s) IS NOT NULL AS ok", (f"{setup.table}_fix",))
        assert row is not None
        assert row["ok"]
        run = db.fetch_one("SELECT kind, facts FROM opslib.procedure_runs ORDER BY id DESC LIMIT 1")
        assert run is not None
        assert run["kind"] == "emergency"
        backup = Catalog(db, load_settings(setup.config).backups.backup_dir).get(
            run["facts"]["backup"]
        )
        assert backup is not None
        assert backup.kind == "emergency"
