"""checks/emergency/overload against the live lab: the fault ``cpu-hog`` (a busy loop in one
scraper container) turns the container check red naming that container and
``opslib limits set scraper --cpus ...``; the advised cap brings it back to OK while the loop
still spins, and healing stops the loop.

The CPU threshold is set between what the looping container and the others use: on this
shared two-core machine the engine's containers together get what the scheduler leaves them
(a tenth of a CPU under a load of 10, a whole one when the machine is idle), so no fixed
percentage is sure to be crossed by the loop and not by the lab's workers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from opslib import overload
from opslib.cli import main
from opslib.config import Settings, load_settings
from opslib.connect import open_platform
from opslib.lab import Lab
from opslib.results import CheckResult, Severity
from tests.support import poll_until

ROOT = Path(__file__).resolve().parents[2]
_CAP = re.compile(r"`opslib limits set scraper --cpus ([0-9.]+)`")


def _cpu(result: CheckResult) -> dict[str, float]:
    return {
        m.subject: m.value
        for m in result.measurements
        if m.name == "cpu_percent" and m.value is not None
    }


def _load(settings: Settings) -> CheckResult:
    with open_platform(settings) as platform:
        return overload.container_load(platform, settings)


def test_cpu_hog_named_then_the_advised_cpu_cap_brings_the_container_back(
    healthy_lab: Lab,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    lab_settings = load_settings(healthy_lab.config_file)
    hog = healthy_lab.settings.worker_name(healthy_lab.settings.workers)
    calm = poll_until(lambda: _load(lab_settings), lambda r: r.severity is Severity.OK, 60)
    assert calm.severity is Severity.OK, calm.message()
    assert "cpu-hog" in healthy_lab.inject("cpu-hog")
    config = tmp_path / "opslib.toml"
    monkeypatch.setenv("OPSLIB_CONFIG", str(config))
    try:

        def apart(result: CheckResult) -> bool:
            used = _cpu(result)
            others = max((v for k, v in used.items() if k != hog), default=0.0)
            return used.get(hog, 0.0) > max(1.5 * others + 4, 10)

        seen = poll_until(lambda: _load(lab_settings), apart, 60)
        used = _cpu(seen)
        assert apart(seen), seen.message()
        others = max(v for k, v in used.items() if k != hog)
        warn = round((used[hog] + others) / 2)
        config.write_text(
            healthy_lab.config_file.read_text()
            + f'\n[thresholds."health.cpu_percent"]\nwarn = {warn}\ncrit = {2 * warn}\n'
        )
        settings = load_settings(config)
        red = poll_until(lambda: _load(settings), lambda r: r.severity is not Severity.OK, 60)
        assert red.severity in (Severity.WARNING, Severity.CRITICAL), red.message()
        assert hog in red.message()
        assert "`opslib scale scraper " in red.remediation
        advised = _CAP.search(red.remediation)
        assert advised is not None, red.remediation
        cap = float(advised[1])
        assert 0 < cap * 100 < warn

        def suite() -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                 "--ops-fail-on=warning", "checks/emergency/overload/test_containers.py"],
                check=False, cwd=ROOT, capture_output=True, text=True, timeout=120,
                env={**os.environ, "OPSLIB_CONFIG": str(config)},
            )  # fmt: skip

        # The loop's share of a CPU follows the machine's load: a sample may dip under warn.
        run = poll_until(suite, lambda r: r.returncode == 1, 30, interval=0)
        assert run.returncode == 1, run.stdout[-2000:]
        assert hog in run.stdout
        assert advised[0].strip("`") in run.stdout

        assert main(["limits", "set", "scraper", "--cpus", advised[1]]) == 0
        assert f"{cap:g} cpus" in capsys.readouterr().out
        green = poll_until(lambda: _load(settings), lambda r: r.severity is Severity.OK, 60)
        assert green.severity is Severity.OK, green.message()
        assert _cpu(green).get(hog, 0.0) > 0  # the loop still spins, under its cap
    finally:
        healed = healthy_lab.heal("cpu-hog")
        # No CPU cap left on the lab's workers (the Engine API cannot unset one: a cap of
        # every CPU of the machine is none).
        assert main(["limits", "set", "scraper", "--cpus", str(os.cpu_count() or 2)]) == 0
        capsys.readouterr()
    assert healed
    assert "stopped (1 killed)" in healed[0]
    idle = poll_until(lambda: _load(settings), lambda r: r.severity is Severity.OK, 60)
    assert idle.severity is Severity.OK, idle.message()
