"""Building labs for tests: free port ranges, unique projects, infrastructure checks."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

from opslib.errors import LabError
from opslib.lab import PORT_SPAN, Lab, LabSettings
from opslib.lab._containers import docker_client
from opslib.lab._postgres import find_pg_bindir
from opslib.lab._prometheus import find_prometheus
from tests.support import free_port_range, require

__all__ = [
    "make_lab_settings",
    "require_docker",
    "require_docker_lab",
    "require_lab_infrastructure",
]


def make_lab_settings(prefix: str = "pricewatch-labtest", **fields: Any) -> LabSettings:
    """Settings for a lab of its own: a fresh state dir under the temp dir (world-searchable, so
    the cluster's unprivileged user reaches it), a free port range, a unique compose project."""
    tag = uuid.uuid4().hex[:6]
    state_dir = Path(tempfile.gettempdir()) / f"opslib-labtest-{tag}"
    base = free_port_range(PORT_SPAN)
    return LabSettings.for_tests(state_dir, base, project=f"{prefix}-{tag}", **fields)


def require_lab_infrastructure() -> None:
    """Skip (or fail in CI) when the machine cannot run a lab: PostgreSQL server binaries and
    Prometheus (``$OPSLIB_LAB_PROMETHEUS``, PATH, /usr/bin). Docker is optional: without an
    engine the lab runs its workers as local processes."""
    __tracebackhide__ = True
    for probe, what in (
        (find_pg_bindir, "PostgreSQL server binaries"),
        (find_prometheus, "Prometheus"),
    ):
        try:
            probe()
        except LabError as exc:
            require(False, f"{what} not available: {exc}")


def require_docker() -> None:
    """Skip (or fail in CI) unless a Docker engine answers (``$DOCKER_HOST``, else the default
    socket)."""
    __tracebackhide__ = True
    try:
        with docker_client(timeout=5):
            pass
    except LabError as exc:
        require(False, f"Docker engine not available: {exc}")


def require_docker_lab(lab: Lab) -> None:
    """Skip (or fail in CI) unless ``lab`` runs its workers as containers of its compose project,
    which is what the checks reading the platform (services, restarts, resources) look at."""
    __tracebackhide__ = True
    require_docker()
    mode = lab.status().mode
    require(mode == "docker", f"the lab runs its workers as {mode} processes, not containers")
