"""Lab faults of issue 15 beyond brute force and scans: ``debug-left-on`` (a debug switch
nobody switched off, in effect far past the policy's limit), and the attacks
``credential-stuffing`` and ``key-leak`` against the lab's API (run as ``python -m
opslib.lab._attacks --state-dir DIR --attack NAME``; every source is a loopback address the
client socket is bound to)."""

from __future__ import annotations

import argparse
import http.client
import random
import secrets
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from opslib.adapters import Database
from opslib.config import load_settings
from opslib.connect import open_database
from opslib.lab._api import api_port
from opslib.lab._paths import LabPaths, load_recorded
from opslib.lab._procs import Supervisor, child_env
from opslib.lab._settings import LabSettings
from opslib.security import key_store

__all__ = [
    "DEBUG_REASON",
    "LAB_ATTACKS",
    "LEAKED_KEY",
    "LEAK_NET",
    "STUFFING_NET",
    "heal_debug_left_on",
    "inject_debug_left_on",
    "main",
    "run_attack",
    "start_lab_attack",
    "stop_lab_attack",
]

DEBUG_REASON = "lab fault debug-left-on: switched on for a look and forgotten"
"""The reason the ``debug-left-on`` switch carries (heal ends the switches with it)."""


class _Host(Protocol):
    def database(self) -> Database: ...


def inject_debug_left_on(host: _Host, _target: str | None) -> str:
    """A debug switch for the lab API (service ``api``) started 6 h ago, expiring in 2 days:
    the API logs every request at debug level with its id until it is switched off."""
    with host.database() as db:
        db.execute(
            "INSERT INTO opslib.debug_switches (services, reason, actor, started_at, expires_at)"
            " VALUES ('{api}', %s, 'opslib lab', now() - interval '6 hours',"
            " now() + interval '2 days')",
            (DEBUG_REASON,),
        )
    return (
        "debug-left-on: debug logging and request tracking on for the API since 6 h ago,"
        " until 2 days from now"
    )


def heal_debug_left_on(host: _Host, _record: object) -> str:
    """End the switches the fault made (``opslib security debug off`` heals it too)."""
    with host.database() as db:
        ended = db.execute(
            "UPDATE opslib.debug_switches SET ended_at = now(), ended_by = 'opslib lab heal'"
            " WHERE ended_at IS NULL AND reason = %s",
            (DEBUG_REASON,),
        )
    return f"debug-left-on: {ended} debug switch(es) off"


# credential-stuffing and key-leak: attack traffic against the lab's API, from many loopback
# addresses, each low and slow enough that no single address stands out.

STUFFING_NET = "127.0.4"
"""credential-stuffing comes from 127.0.4.1-60, each address about once every 50 s."""
LEAK_NET = "127.0.5"
"""key-leak comes from 127.0.5.1-40, each address about once every 2 s, with one valid key."""
LEAKED_KEY = "lab-partner"
"""The name of the key key-leak uses (made anew at each injection, its earlier ones revoked)."""
_STUFFERS = 60
_LEAKERS = 40
LAB_ATTACKS = ("credential-stuffing", "key-leak")
"""The attacks of this module."""


def _hit(
    source: str, port: int, method: str, path: str, headers: dict[str, str], *, body: bytes = b""
) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5, source_address=(source, 0))
    try:
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        response.read()
    except OSError:
        return 0
    else:
        return response.status
    finally:
        conn.close()


def _stuffer(source: str, port: int, stop: threading.Event) -> None:
    rng = random.Random(source)  # noqa: S311 - traffic shape, not secrets
    agent = {"User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"}
    wait = rng.uniform(0.0, 50.0)  # the addresses start spread over the first minute
    while not stop.wait(wait):
        wait = rng.uniform(45.0, 58.0)  # at most 2 tries a minute per address
        if rng.random() < 0.5:
            user = f"{rng.choice(_NAMES)}{rng.randrange(100)}@example.test"
            body = f"user={user}&password={secrets.token_hex(5)}".encode()
            headers = {**agent, "Content-Type": "application/x-www-form-urlencoded"}
            _hit(source, port, "POST", "/login", headers, body=body)
        else:
            fake = f"opk_{secrets.token_hex(5)}_{secrets.token_urlsafe(24)}"
            _hit(source, port, "GET", "/api/v1/prices?product=7", {**agent, "X-API-Key": fake})


_NAMES = ("anna", "ben", "chen", "dora", "emil", "fatima", "gus", "hana", "ivan", "julia")


def _leaker(source: str, key: str, port: int, stop: threading.Event) -> None:
    rng = random.Random(source)  # noqa: S311 - traffic shape, not secrets
    headers = {"User-Agent": "python-httpx/0.27.0", "X-API-Key": key}
    while not stop.wait(rng.uniform(1.5, 2.5)):
        _hit(source, port, "GET", f"/api/v1/prices?product={rng.randrange(500)}", headers)


def run_attack(name: str, state_dir: Path, stop: threading.Event) -> None:
    """Send the traffic of ``credential-stuffing`` or ``key-leak`` until ``stop``."""
    settings = load_recorded(state_dir)
    port = api_port(settings)
    if name == "credential-stuffing":
        threads = [
            threading.Thread(target=_stuffer, args=(f"{STUFFING_NET}.{i}", port, stop),
                             daemon=True)
            for i in range(1, _STUFFERS + 1)
        ]  # fmt: skip
    else:
        config = load_settings(LabPaths(state_dir).config)
        store = key_store(open_database(config, application_name="opslib-lab-key-leak"), config)
        if store.find(LEAKED_KEY):
            store.revoke(LEAKED_KEY, reason="key-leak injected again", actor="lab")
        key = store.create(LEAKED_KEY, actor="lab")[1]
        threads = [
            threading.Thread(target=_leaker, args=(f"{LEAK_NET}.{i}", key, port, stop),
                             daemon=True)
            for i in range(1, _LEAKERS + 1)
        ]  # fmt: skip
    for thread in threads:
        thread.start()
    stop.wait()


def _supervisor(settings: LabSettings) -> Supervisor:
    paths = LabPaths(settings.state_dir)
    return Supervisor(paths.run_dir, paths.log_dir)


def start_lab_attack(name: str, settings: LabSettings) -> str:
    """Start the background traffic of ``name``; return the fault's description."""
    argv = [sys.executable, "-m", "opslib.lab._attacks", "--state-dir", str(settings.state_dir),
            "--attack", name]  # fmt: skip
    _supervisor(settings).start(f"attack-{name}", argv, env=child_env())
    if name == "credential-stuffing":
        return (
            f"credential-stuffing: {_STUFFERS} addresses {STUFFING_NET}.1-{_STUFFERS} try"
            " usernames on /login and made-up API keys, each about once every 50 s"
        )
    return (
        f"key-leak: the valid key {LEAKED_KEY} used from {_LEAKERS} new addresses"
        f" {LEAK_NET}.1-{_LEAKERS}, about 20 requests/s in all"
    )


def stop_lab_attack(name: str, settings: LabSettings) -> str:
    """Stop the traffic of ``name``."""
    _supervisor(settings).stop(f"attack-{name}")
    return f"{name}: the attack traffic stopped"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="opslib-lab-attack")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--attack", choices=LAB_ATTACKS, required=True)
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    run_attack(args.attack, args.state_dir, stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
