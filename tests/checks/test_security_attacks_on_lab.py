"""Issue 15 against the live lab: a debug switch left on turns checks/emergency/security red
naming ``opslib security debug off`` while the API logs each request with its id and answers
``X-Request-ID``; switched off, the check is green and the API quiet again."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
from pathlib import Path

from opslib.cli import main
from opslib.lab import Lab
from opslib.lab._api import api_port, debug_log
from tests.support import poll_until

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "checks" / "emergency" / "security"


def _suite(lab: Lab, *only: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPSLIB_CONFIG": str(lab.config_file)}
    paths = [str(SUITE / name) for name in only] or [str(SUITE)]
    argv = [sys.executable, "-m", "pytest", *paths, "-p", "no:cacheprovider", "-q"]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, cwd=ROOT,
                          check=False)  # fmt: skip


def _request_id(lab: Lab) -> str | None:
    conn = http.client.HTTPConnection("127.0.0.1", api_port(lab.settings), timeout=5)
    try:
        conn.request("GET", "/health")
        response = conn.getresponse()
        response.read()
        return response.getheader("X-Request-ID")
    finally:
        conn.close()


def _opslib(lab: Lab, *argv: str) -> int:
    return main(["--config", str(lab.config_file), *argv])


def test_debug_left_on_is_red_until_switched_off(healthy_lab: Lab) -> None:
    lab = healthy_lab
    assert _request_id(lab) is None
    green = _suite(lab, "test_debug.py")
    assert green.returncode == 0, green.stdout[-3000:]
    lab.inject("debug-left-on")
    try:
        red = _suite(lab, "test_debug.py")
        assert red.returncode != 0, red.stdout[-3000:]
        assert "opslib security debug off --service api" in red.stdout
        rid = poll_until(lambda: _request_id(lab), lambda r: r is not None, 20)
        assert rid is not None
        assert f"request_id={rid} " in debug_log(lab.paths.root).read_text()
        assert _opslib(lab, "security", "debug", "off") == 0
        assert _suite(lab, "test_debug.py").returncode == 0
        quiet = poll_until(lambda: _request_id(lab), lambda r: r is None, 20)
        assert quiet is None
    finally:
        lab.heal()
