"""Issue 15 against the live lab: a debug switch left on turns checks/emergency/security red
naming ``opslib security debug off`` while the API logs each request with its id and answers
``X-Request-ID``; switched off, the check is green and the API quiet again. Credential stuffing
and a leaked key, mixed with the normal clients, turn the suite red naming the block and the
revoke; contained with them, it is green while normal clients keep being served, and the
incident's report holds both."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
from pathlib import Path

from opslib.cli import main
from opslib.lab import Lab
from opslib.lab._api import access_log, api_port, debug_log
from opslib.lab._attacks import LEAK_NET, LEAKED_KEY, STUFFING_NET
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


def _served(lab: Lab, source: str) -> int:
    """The status a normal client's request gets (its key: one the API made at start)."""
    conn = http.client.HTTPConnection(
        "127.0.0.1", api_port(lab.settings), timeout=5, source_address=(source, 0)
    )
    try:
        conn.request("GET", "/health")
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _normal_clients_served(lab: Lab) -> bool:
    """The lab's normal clients got 200s in the last seconds of the access log."""
    tail = access_log(lab.paths.root).read_bytes()[-200_000:].decode("utf-8", "replace")
    lines = [line for line in tail.splitlines()[-400:] if line.startswith("127.0.2.")]
    return bool(lines) and sum(" 200 " in line for line in lines) >= 0.9 * len(lines)


def test_credential_stuffing_and_key_leak_found_contained_reported(healthy_lab: Lab) -> None:
    lab = healthy_lab
    calm = poll_until(lambda: _suite(lab), lambda r: r.returncode == 0, 180)
    assert calm.returncode == 0, calm.stdout[-3000:]
    lab.inject("credential-stuffing")
    lab.inject("key-leak")
    stuffing, leak = f"{STUFFING_NET}.0/24", f"{LEAK_NET}.0/24"
    try:
        # neither shows per source: the spread checks see them, each naming its containment
        red = poll_until(
            lambda: _suite(lab),
            lambda r: (
                f"opslib security block {stuffing}" in r.stdout
                and f"opslib keys revoke {LEAKED_KEY}" in r.stdout
            ),
            150,
        )
        assert red.returncode != 0, red.stdout[-3000:]
        assert f"opslib security block {stuffing}" in red.stdout, red.stdout[-3000:]
        assert f"opslib keys revoke {LEAKED_KEY}" in red.stdout, red.stdout[-3000:]
        single = re.findall(rf"opslib security block {re.escape(STUFFING_NET)}\.\d+ ", red.stdout)
        assert single == []  # no single stuffing address stands out
        # contained with the commands the checks named
        why = ["--for", "1h", "--reason", "lab attack"]
        assert _opslib(lab, "security", "block", stuffing, *why) == 0
        assert _opslib(lab, "keys", "revoke", LEAKED_KEY, "--reason", "leaked") == 0
        # refused while the key's last answers count as legitimate traffic; allowed once its
        # refused tries make every leaking address a suspect (seconds)
        code = poll_until(
            lambda: _opslib(lab, "security", "block", leak, *why), lambda c: c == 0, 60
        )
        assert code == 0
        assert _served(lab, f"{STUFFING_NET}.9") == 403
        assert _served(lab, "127.0.2.9") == 200  # a normal address is still served
        green = poll_until(lambda: _suite(lab), lambda r: r.returncode == 0, 150)
        assert green.returncode == 0, green.stdout[-3000:]
        assert _normal_clients_served(lab)
        # and written up: the incident the first block opened (or joined) holds both
        with lab.database() as db:
            row = db.fetch_one("SELECT id FROM opslib.incidents WHERE closed_at IS NULL")
        assert row is not None
        report = lab.paths.root / "incident.md"
        argv = ["security", "report", "--incident", str(row["id"]), "--markdown", str(report)]
        assert _opslib(lab, *argv) == 0
        text = report.read_text()
        assert stuffing in text
        assert f"| {LEAKED_KEY} |" in text
        assert _opslib(lab, "security", "monitor", "--once") == 0  # contained: nothing recurs
        # a new source failing authentication as the blocked leakers still do: the pattern
        lab.inject("brute-force")
        again = poll_until(lambda: _opslib(lab, "security", "monitor", "--once"), bool, 60)
        assert again == 1
    finally:
        lab.heal()
        for net in (stuffing, leak):
            _opslib(lab, "security", "unblock", net)
