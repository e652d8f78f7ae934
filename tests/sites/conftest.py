"""Fixtures of the site verification tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.proxies.servers import ProxyServers, serving
from tests.sites.servers import Certs, make_certs
from tests.support import without_opslib_environment


@pytest.fixture(autouse=True)
def _defaults_only(monkeypatch: pytest.MonkeyPatch) -> None:
    without_opslib_environment(monkeypatch)


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """A test CA with a valid, an expired and a wrong-name server certificate."""
    return make_certs(tmp_path_factory.mktemp("sites-ca"))


@pytest.fixture
def proxy_servers() -> Iterator[ProxyServers]:
    """Test forward proxies (connecting upstream from tests.proxies.servers.EXIT_IP)."""
    with serving() as servers:
        yield servers


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory (no opslib.toml) for in-process commands."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
