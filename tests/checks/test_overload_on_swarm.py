"""checks/emergency/overload against the live lab with its scrapers as a Docker Swarm service
(``<project>_scraper``, ``[scale] backend = "swarm"``) instead of its compose containers:
``overload`` turns the queue check red naming ``opslib scale scraper N``, and that scale
through the swarm backend drains the queue back to OK; ``cpu-hog`` in a task container turns
the container check red naming it and ``opslib limits set scraper --cpus C``, which the swarm
applies by replacing the tasks (the loop goes with the old one): a loop started again in the
capped replica keeps it OK. ``slow-query`` is the database's alone (a blocking transaction, no
platform backend): tests/dbactivity/test_lab.py holds for Compose and Swarm alike.

The CPU threshold is set between what the looping container and the others use, as in
tests/checks/test_cpu_hog_on_lab.py: on this shared machine no fixed percentage is sure to be
crossed by the loop and not by the lab's workers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest

from opslib import overload
from opslib.adapters import Prometheus, scrape_all
from opslib.cli import main
from opslib.config import Settings, load_settings
from opslib.connect import open_platform
from opslib.lab import Lab
from opslib.lab._swarm import remove_swarm_scrapers, start_swarm_scrapers
from opslib.results import CheckResult, Severity
from tests.checks.test_cpu_hog_on_lab import _cpu, _load
from tests.scaling.conftest import swarm  # noqa: F401 - the one-node swarm, left as found
from tests.support import poll_until

ROOT = Path(__file__).resolve().parents[2]
_CAP = re.compile(r"`opslib limits set scraper --cpus ([0-9.]+)`")
_SCALED = 5  # the overload asks about twice what 2 workers manage


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _serving(lab: Lab, replicas: int) -> bool:
    return all(_answers(lab.settings.metrics_port(i)) for i in range(1, replicas + 1))


@pytest.fixture
def swarm_lab(
    healthy_lab: Lab,
    swarm: docker.DockerClient,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Lab]:
    """The session lab with its workers as the swarm service instead of containers."""
    workers = healthy_lab.settings.workers
    for index in range(1, workers + 1):
        healthy_lab.stop_worker(index)
    try:
        start_swarm_scrapers(swarm, healthy_lab.settings, healthy_lab.paths.root, workers)
        assert poll_until(lambda: _serving(healthy_lab, workers), bool, 90)
        monkeypatch.setenv("OPSLIB_CONFIG", str(healthy_lab.config_file))
        monkeypatch.setenv("OPSLIB_SCALE__BACKEND", "swarm")
        yield healthy_lab
    finally:
        healthy_lab.heal()
        remove_swarm_scrapers(swarm, healthy_lab.settings)
        for index in range(1, workers + 1):
            healthy_lab.start_worker(index)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code = main(["--json", *argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def _suite(config: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *argv],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "OPSLIB_CONFIG": str(config)},
    )  # fmt: skip


def _task(settings: Settings, slot: int) -> str:
    """The container name of the scraper replica in ``slot``."""
    with open_platform(settings) as platform:
        found = [c.name for c in platform.containers("scraper") if c.number == slot and c.running]
    return found[0] if len(found) == 1 else ""  # none or two while the swarm replaces it


def test_overload_and_cpu_hog_named_and_fixed_on_swarm(
    swarm_lab: Lab,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    lab_settings = load_settings(swarm_lab.config_file)
    # overload: the queue check names the scale, which drains the queue through the swarm
    with Prometheus(lab_settings.prometheus_url, timeout=10) as prometheus:

        def queue() -> CheckResult:
            return overload.queue_load(scrape_all, prometheus, lab_settings)

        calm = poll_until(queue, lambda r: r.severity is Severity.OK, 120)
        assert calm.severity is Severity.OK, calm.message()
        swarm_lab.inject("overload")
        red = poll_until(queue, lambda r: r.severity is Severity.CRITICAL, 90)
        assert red.severity is Severity.CRITICAL, red.message()
        assert "`opslib scale scraper N`" in red.message()
        run = _suite(swarm_lab.config_file, "checks/emergency/overload/test_queue.py",
                     "-k", "queue_load")  # fmt: skip
        assert run.returncode == 1, run.stdout[-2000:]
        assert "opslib scale scraper N" in run.stdout

        scaled = _run(capsys, "scale", "scraper", str(_SCALED))
        assert (scaled["backend"], scaled["before"], scaled["after"]) == ("swarm", 2, _SCALED)
        assert poll_until(lambda: _serving(swarm_lab, _SCALED), bool, 90)
        green = poll_until(queue, lambda r: r.severity is Severity.OK, 180)
        assert green.severity is Severity.OK, green.message()
    swarm_lab.heal("overload")
    assert _run(capsys, "scale", "scraper", "2")["after"] == 2

    # cpu-hog: the container check names the task container and the cap, applied to the service
    hog_index = 2
    assert "cpu-hog" in swarm_lab.inject("cpu-hog", swarm_lab.settings.worker_name(hog_index))
    hog = _task(lab_settings, hog_index)
    assert hog.startswith(f"{swarm_lab.settings.project}_scraper.{hog_index}."), hog

    def apart(result: CheckResult) -> bool:
        used = _cpu(result)
        others = max((v for k, v in used.items() if k != hog), default=0.0)
        return used.get(hog, 0.0) > max(1.5 * others + 4, 10)

    seen = poll_until(lambda: _load(lab_settings), apart, 60)
    assert apart(seen), seen.message()
    used = _cpu(seen)
    warn = round((used[hog] + max(v for k, v in used.items() if k != hog)) / 2)
    config = tmp_path / "opslib.toml"
    config.write_text(
        swarm_lab.config_file.read_text()
        + f'\n[thresholds."health.cpu_percent"]\nwarn = {warn}\ncrit = {2 * warn}\n'
    )
    monkeypatch.setenv("OPSLIB_CONFIG", str(config))
    settings = load_settings(config)
    red = poll_until(lambda: _load(settings), lambda r: r.severity is not Severity.OK, 60)
    assert red.severity in (Severity.WARNING, Severity.CRITICAL), red.message()
    assert hog in red.message()
    advised = _CAP.search(red.remediation)
    assert advised is not None, red.remediation
    assert 0 < float(advised[1]) * 100 < warn
    containers = "checks/emergency/overload/test_containers.py"
    # the loop's share of a CPU follows the machine's load: a sample may dip under warn
    run = poll_until(
        lambda: _suite(config, "--ops-fail-on=warning", containers),
        lambda r: r.returncode == 1,
        30,
        interval=0,
    )
    assert run.returncode == 1, run.stdout[-2000:]
    assert hog in run.stdout
    assert advised[0].strip("`") in run.stdout

    done = _run(capsys, "limits", "set", "scraper", "--cpus", advised[1])
    assert done["backend"] == "swarm"
    # the swarm applies a cap by replacing the tasks: the loop goes with the old container;
    # started again in the capped replica, it stays under the threshold
    assert poll_until(lambda: _task(settings, hog_index) not in ("", hog), bool, 90)
    assert poll_until(lambda: _serving(swarm_lab, 2), bool, 90)
    swarm_lab.heal("cpu-hog")
    swarm_lab.inject("cpu-hog", swarm_lab.settings.worker_name(hog_index))
    capped = _task(settings, hog_index)
    green = poll_until(
        lambda: _load(settings),
        lambda r: r.severity is Severity.OK and _cpu(r).get(capped, 0.0) > 0,
        60,
    )
    assert green.severity is Severity.OK, green.message()
    assert _cpu(green)[capped] > 0  # the loop spins, under its cap
    healed = swarm_lab.heal("cpu-hog")
    assert "stopped (1 killed)" in healed[0]
