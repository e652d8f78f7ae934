"""Building labs for tests: free port ranges, unique projects, infrastructure checks."""

from __future__ import annotations

import random
import socket
import tempfile
import uuid
from pathlib import Path
from typing import Any

from opslib.errors import LabError
from opslib.lab import PORT_SPAN, LabSettings
from opslib.lab._postgres import find_pg_bindir
from opslib.lab._prometheus import find_prometheus
from tests.support import require

__all__ = ["free_port_base", "make_lab_settings", "require_lab_infrastructure"]


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_base(span: int = PORT_SPAN) -> int:
    """A ``port_base`` whose whole range of ``span`` ports is free right now."""
    rng = random.Random()
    for _ in range(100):
        base = rng.randrange(20000, 60000 - span)
        if all(_port_free(base + i) for i in range(span)):
            return base
    raise RuntimeError("no free range of ports for a lab")


def make_lab_settings(prefix: str = "pricewatch-labtest", **fields: Any) -> LabSettings:
    """Settings for a lab of its own: a fresh state dir under the temp dir (world-searchable, so
    the cluster's unprivileged user reaches it), a free port range, a unique compose project."""
    tag = uuid.uuid4().hex[:6]
    state_dir = Path(tempfile.gettempdir()) / f"opslib-labtest-{tag}"
    return LabSettings.for_tests(state_dir, free_port_base(), project=f"{prefix}-{tag}", **fields)


def require_lab_infrastructure() -> None:
    """Skip (or fail in CI) when the machine cannot run a lab."""
    for probe, what in (
        (find_pg_bindir, "PostgreSQL server binaries"),
        (find_prometheus, "Prometheus"),
    ):
        try:
            probe()
        except LabError as exc:
            require(False, f"{what} not available: {exc}")
