"""Building labs for tests: free port ranges, unique projects, infrastructure checks."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

from opslib.errors import LabError
from opslib.lab import PORT_SPAN, LabSettings
from opslib.lab._postgres import find_pg_bindir
from opslib.lab._prometheus import find_prometheus
from tests.support import free_port_range, require

__all__ = ["make_lab_settings", "require_lab_infrastructure"]


def make_lab_settings(prefix: str = "pricewatch-labtest", **fields: Any) -> LabSettings:
    """Settings for a lab of its own: a fresh state dir under the temp dir (world-searchable, so
    the cluster's unprivileged user reaches it), a free port range, a unique compose project."""
    tag = uuid.uuid4().hex[:6]
    state_dir = Path(tempfile.gettempdir()) / f"opslib-labtest-{tag}"
    base = free_port_range(PORT_SPAN)
    return LabSettings.for_tests(state_dir, base, project=f"{prefix}-{tag}", **fields)


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
