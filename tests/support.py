"""Helpers shared by the tests (import from here, not from a conftest)."""

from __future__ import annotations

import os
import random
import socket
import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")

__all__ = [
    "free_port",
    "free_port_range",
    "poll_until",
    "require",
    "wait_until",
    "without_opslib_environment",
]


def require(condition: bool, why: str) -> None:
    """Skip (developer machine) or fail (CI) when infrastructure is missing."""
    __tracebackhide__ = True
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must provide this: {why}", pytrace=False)
    pytest.skip(why)


def without_opslib_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset every ``OPSLIB_*`` variable for the test, so ``Settings()`` holds only defaults."""
    for name in list(os.environ):
        if name.startswith("OPSLIB_"):
            monkeypatch.delenv(name)


def _ephemeral_start() -> int:
    """The first port the kernel hands to outgoing connections (Linux; 32768 elsewhere)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as fh:
            return int(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_range(span: int) -> int:
    """The first of ``span`` consecutive ports that are free now, below the ephemeral range:
    a port picked there could be taken by any outgoing connection (the labs' clients make
    thousands) before the server that wants it binds it."""
    rng = random.Random()
    high = _ephemeral_start() - span
    for _ in range(200):
        base = rng.randrange(10000, high)
        if all(_port_free(base + i) for i in range(span)):
            return base
    raise RuntimeError(f"no {span} free consecutive ports in 10000-{high + span}")


def free_port() -> int:
    """A port that is free now and that no outgoing connection will be given."""
    return free_port_range(1)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` every 0.1 s; fail the test saying ``what`` did not happen."""
    __tracebackhide__ = True
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.1)


def poll_until(
    measure: Callable[[], T], accept: Callable[[T], bool], deadline: float, interval: float = 2
) -> T:
    """Call ``measure`` every ``interval`` s until ``accept`` holds or ``deadline`` s pass;
    return the last value (the caller asserts on it, so a failure shows what was seen)."""
    until = time.monotonic() + deadline
    while True:
        value = measure()
        if accept(value) or time.monotonic() > until:
            return value
        time.sleep(interval)
