"""``opslib watch`` for real: the command in a subprocess re-running a tiny suite of its own
(a check whose verdict flips on every run, one that appears, one that vanishes), alerts to a
real local webhook receiver, bad input and Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from opslib.config import toml_value
from tests.notify.receivers import TOKEN, Hooks

SUITE = """
from pathlib import Path

from opslib.results import CheckResult, Measurement, Threshold

# This run's number, counted at collection in a file beside the suite.
STATE = Path(__file__).with_name("runs.txt")
RUN = int(STATE.read_text()) if STATE.exists() else 0
STATE.write_text(str(RUN + 1))
CPU = Threshold(warn=80, crit=95, unit="%")


def cpu(value, title="CPU usage"):
    return CheckResult(sop="daily.health", title=title,
                       measurements=(Measurement("cpu_percent", value, CPU, subject="s-1"),))


def test_flip(ops_verdict):
    ops_verdict(cpu(99.0 if RUN % 2 else 10.0))  # OK, CRITICAL, OK, ...


def test_steady(ops_verdict):
    ops_verdict(cpu(20.0, "steady"))


if RUN == 0:
    def test_first_only(ops_verdict):
        ops_verdict(cpu(30.0, "first only"))
else:
    def test_later(ops_verdict):
        ops_verdict(cpu(85.0, "later"))  # WARNING
"""


def make_suite(tmp_path: Path) -> Path:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_flip.py").write_text(SUITE)
    return suite


def environment(config: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPSLIB_", "PYTEST_"))}  # fmt: skip
    if config is not None:
        env["OPSLIB_CONFIG"] = str(config)
    return env


def opslib(*argv: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "opslib.cli", *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip


def runs_done(suite: Path) -> int:
    return int((suite / "runs.txt").read_text())


def test_watch_prints_only_what_changed(tmp_path: Path) -> None:
    suite = make_suite(tmp_path)
    done = opslib("watch", "suite", "--every", "1s", "--for", "5m", "--runs", "4",
                  cwd=tmp_path, env=environment())  # fmt: skip
    runs = runs_done(suite)
    assert runs == 4, done.stdout  # --runs, however long a run takes here
    lines = [line.split(" ", 1)[1] for line in done.stdout.splitlines()[:-1]]
    assert lines[0] == (
        "suite: first run: 3 check(s): 3 OK, 0 WARNING, 0 CRITICAL, 0 UNKNOWN; worst OK"
    )
    expected = [
        "red: suite/test_flip.py::test_flip [daily.health] OK -> CRITICAL: CRITICAL: CPU usage",
        "new: suite/test_flip.py::test_later [daily.health] WARNING: WARNING: later",
        "vanished: suite/test_flip.py::test_first_only [daily.health] (was OK)",
    ]
    flip = "suite/test_flip.py::test_flip [daily.health]"
    for run in range(2, runs):  # then it flips on every run, and nothing else changes
        expected.append(
            f"green: {flip} CRITICAL -> OK: OK: CPU usage"
            if run % 2 == 0
            else f"red: {flip} OK -> CRITICAL: CRITICAL: CPU usage"
        )
    assert lines[1:] == expected
    assert not any("test_steady" in line for line in lines)
    assert done.stdout.splitlines()[-1].startswith(f"watched {runs} run(s) in ")
    # The worst severity of the last run: the flip is CRITICAL on every second run, else the
    # later check's WARNING.
    assert done.returncode == (2 if runs % 2 == 0 else 1), done.stderr
    assert done.stderr == ""


def write_config(path: Path, hooks: Hooks) -> Path:
    channels = [
        {"type": "webhook", "name": "ops-hook", "url": hooks.recording_url, "kinds": ["alert"]},
        {"type": "webhook", "name": "broken-hook", "url": hooks.url(f"/fail?token={TOKEN}"),
         "kinds": ["alert"]},
        {"type": "webhook", "name": "notices-only", "url": hooks.url("/hook/other"),
         "kinds": ["maintenance"]},
    ]  # fmt: skip
    lines = ['platform_name = "watch-test"', "[notify]", 'contact = "ops desk"',
             "timeout = 2", "attempts = 1"]  # fmt: skip
    for channel in channels:
        lines.append("[[notify.channels]]")
        lines += [f"{key} = {toml_value(value)}" for key, value in channel.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_changes_go_to_the_alert_channels(tmp_path: Path, webhook: Hooks) -> None:
    suite = make_suite(tmp_path)
    config = write_config(tmp_path / "opslib.toml", webhook)
    done = opslib("watch", "suite", "--every", "1s", "--for", "5m", "--runs", "2",
                  cwd=tmp_path, env=environment(config))  # fmt: skip
    assert runs_done(suite) == 2, done.stdout
    bodies = [r.body for r in webhook.received]
    assert bodies, done.stdout + done.stderr
    assert all(r.path == f"/hook/{TOKEN}" for r in webhook.received)  # not the notices-only one
    first = bodies[0]
    assert first["kind"] == "alert"
    assert first["subject"] == (
        "[opslib] watch suite: 1 turned red, 1 new, 1 vanished on watch-test"
    )
    assert first["fields"]["Contact"] == "ops desk"
    assert {(i["check"], i["severity"]) for i in first["items"]} == {
        ("suite/test_flip.py::test_flip", "CRITICAL (was OK)"),
        ("suite/test_flip.py::test_later", "WARNING"),
        ("suite/test_flip.py::test_first_only", "GONE (was OK)"),
    }
    assert webhook.hits["/fail"] == len(bodies)  # tried once per change, not retried on 500
    assert "notice sent to ops-hook" in done.stdout
    assert "opslib: warning: notice not sent to broken-hook (http://127.0.0.1:" in done.stdout
    assert "HTTP 500" in done.stdout
    assert TOKEN not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--every", "often"], "--every 'often': not a duration (like 60s, 5m, 1h30m)"),
        (["--every", "0s"], "--every '0s': must be more than 0 s"),
        (["--for", "ever"], "--for 'ever': not a duration (like 60s, 5m, 1h30m)"),
        (["--suite-missing"], "nowhere: no such file or directory"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, argv: list[str], message: str) -> None:
    make_suite(tmp_path)
    target = "nowhere" if argv == ["--suite-missing"] else "suite"
    options = [] if argv == ["--suite-missing"] else argv
    done = opslib("watch", target, *options, cwd=tmp_path, env=environment())
    assert done.returncode == 2
    assert done.stderr.splitlines() == [f"opslib: error: {message}"], done.stderr
    assert not (tmp_path / "suite" / "runs.txt").exists()  # nothing ran


def test_a_run_that_cannot_judge_is_reported_and_unknown(tmp_path: Path) -> None:
    make_suite(tmp_path)
    done = opslib("watch", "suite", "--every", "1s", "--for", "1s", "--", "--no-such-option",
                  cwd=tmp_path, env=environment())  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr
    first = done.stdout.splitlines()[0].split(" ", 1)[1]
    assert first.startswith("suite: first run: judged nothing: pytest exited 4 (usage error)")
    assert first.endswith("error: unrecognized arguments: --no-such-option; worst UNKNOWN")


def _children_in(directory: Path) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if "pytest" in cmdline and cwd == str(directory):
            found.append(int(proc.name))
    return found


def test_ctrl_c_is_clean(tmp_path: Path) -> None:
    make_suite(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "opslib.cli", "watch", "suite", "--every", "1s", "--for", "5m"],
        cwd=tmp_path, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # the first run is over
        assert "first run: 3 check(s)" in first
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130
    assert "Traceback" not in err
    assert err.splitlines()[-1] == "opslib: error: aborted"  # click turns Ctrl-C into Abort
    assert out.splitlines()[-1].startswith("interrupted after ")
    assert _children_in(tmp_path) == []  # no pytest left running
