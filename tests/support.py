"""Helpers shared by the tests (import from here, not from a conftest)."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")

__all__ = ["free_port", "poll_until", "require", "wait_until"]


def require(condition: bool, why: str) -> None:
    """Skip (developer machine) or fail (CI) when infrastructure is missing."""
    __tracebackhide__ = True
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must provide this: {why}", pytrace=False)
    pytest.skip(why)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
