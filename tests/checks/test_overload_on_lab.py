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


def test_caching_on_a_domain_answers_304_and_shows_the_hit_rate(
    healthy_lab: Lab, stack: tuple[Prometheus, Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    prometheus, settings = stack
    domain = healthy_lab.domains[5]
    assert main(["domains", "caching", domain, "on"]) == 0
    assert f"caching on for {domain}" in capsys.readouterr().out
    # every URL of the shop due now: one scheduled far ahead (an earlier test lengthened the
    # intervals; its heal restores them, not the next checks already planned) would keep its
    # second check, the first that can be a 304, out of the test's time
    with healthy_lab.database() as db:
        db.execute("UPDATE monitored_urls SET next_check_at = now() WHERE domain = %s", (domain,))
    try:

        def hits() -> float:
            result = overload.cache_hit_rate(prometheus, settings)
            rates = {m.subject: m.value for m in result.measurements}
            return rates.get(domain) or 0.0

        # Pages are unchanged between two checks 30 s apart, but a URL answers 304 only from
        # its second check with caching on: the rate climbs as the window fills (slowly on a
        # loaded machine).
        rate = poll_until(hits, lambda r: r > 0.2, 180)
        assert rate > 0.2
        report = overload.cache_hit_rate(prometheus, settings)
        others = {m.subject: m.value for m in report.measurements if m.subject not in ("", domain)}
        assert others
        # no other shop answered from a cache (None: no request of it inside the window)
        assert not any(others.values()), others
    finally:
        assert main(["domains", "caching", domain, "off"]) == 0
