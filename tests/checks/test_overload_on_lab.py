"""checks/emergency/overload against the live lab: the fault ``overload`` (low-priority URLs
checked 8x as often: more due than the workers can scrape) turns the queue check red naming
``opslib urls pause --priority low``; the pause brings it back to OK, and lengthened
intervals keep it OK once every URL is scheduled again."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from opslib import overload
from opslib.adapters import Prometheus, scrape_all
from opslib.cli import main
from opslib.config import Settings, load_settings
from opslib.lab import Lab
from opslib.results import CheckResult, Severity
from tests.support import poll_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def stack(
    healthy_lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Prometheus, Settings]]:
    settings = load_settings(healthy_lab.config_file)
    monkeypatch.setenv("OPSLIB_CONFIG", str(healthy_lab.config_file))
    with Prometheus(settings.prometheus_url, timeout=settings.timeouts.http) as prometheus:
        yield prometheus, settings


def _ok(result: CheckResult) -> bool:
    return result.severity is Severity.OK


def _urls(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(["urls", *argv])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out + captured.err


def test_overload_named_then_pause_and_intervals_bring_the_queue_back(
    healthy_lab: Lab, stack: tuple[Prometheus, Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    prometheus, settings = stack

    def queue() -> CheckResult:
        return overload.queue_load(scrape_all, prometheus, settings)

    calm = poll_until(queue, _ok, 120)
    assert _ok(calm), calm.message()
    healthy_lab.inject("overload")
    try:
        red = poll_until(queue, lambda r: r.severity is Severity.CRITICAL, 90)
        assert red.severity is Severity.CRITICAL, red.message()
        assert "`opslib urls pause --priority low`" in red.message()
        suite = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "checks/emergency/overload/test_queue.py", "-k", "queue_load"],
            check=False, cwd=ROOT, capture_output=True, text=True, timeout=120,
            env={**os.environ, "OPSLIB_CONFIG": str(healthy_lab.config_file)},
        )  # fmt: skip
        assert suite.returncode == 1, suite.stdout[-2000:]
        assert "opslib urls pause --priority low" in suite.stdout

        shown = _urls(capsys, "pause", "--priority", "low", "--for", "10m", "--reason", "overload")
        assert "removes" in shown
        assert "requests/h" in shown
        green = poll_until(queue, _ok, 120)
        assert _ok(green), green.message()

        shown = _urls(capsys, "interval", "--priority", "low", "--factor", "8")
        assert "removes" in shown
        _urls(capsys, "resume")
        # every URL scheduled again: the paused ones fall due together once, then the longer
        # intervals keep the demand under the workers' capacity
        green = poll_until(queue, _ok, 120)
        assert _ok(green), green.message()
        time.sleep(10)
        steady = queue()
        assert _ok(steady), steady.message()
    finally:
        healthy_lab.heal()
