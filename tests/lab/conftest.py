"""One real lab per test session, always taken down again.

Reuse from another test package: ``from tests.lab.conftest import lab  # noqa: F401`` in that
package's conftest (the fixture is session-scoped, so every user shares the one lab), or build
your own with :func:`make_lab_settings` and ``with Lab(settings) as lab: ...``.
"""

from __future__ import annotations

import random
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from opslib.errors import LabError
from opslib.lab import PORT_SPAN, Lab, LabSettings
from opslib.lab._postgres import find_pg_bindir
from opslib.lab._prometheus import find_prometheus
from tests.conftest import require


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


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """A running lab for the whole session (Docker workers when an engine answers)."""
    require_lab_infrastructure()
    with Lab(make_lab_settings()) as running:
        yield running


@pytest.fixture
def healthy_lab(lab: Lab) -> Iterator[Lab]:
    """The session lab, with every fault healed after the test."""
    lab.heal()
    yield lab
    lab.heal()


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Samples of a /metrics endpoint: (name, sorted labels) -> value."""
    text = httpx.get(url, timeout=3, trust_env=False).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def sample(url: str, name: str, **labels: str) -> float:
    """One sample of a /metrics endpoint (0 if absent)."""
    return scrape(url).get((name, tuple(sorted(labels.items()))), 0.0)


def prom_query(settings: LabSettings, query: str) -> list[dict[str, Any]]:
    """An instant query against the lab's Prometheus."""
    response = httpx.get(
        f"http://127.0.0.1:{settings.prometheus_port}/api/v1/query",
        params={"query": query},
        timeout=5,
        trust_env=False,
    )
    payload = response.json()
    assert payload["status"] == "success", payload
    result: list[dict[str, Any]] = payload["data"]["result"]
    return result
