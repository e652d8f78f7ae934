"""The second platform, started once for the tests of this package (see ``stack.py``)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from opslib.lab._postgres import PostgresCluster
from tests.platform2.stack import Platform2, bring_up


@pytest.fixture(scope="package")
def platform2(
    pg_cluster: PostgresCluster, docker_client: docker.DockerClient, prometheus_bin: str
) -> Iterator[Platform2]:
    # Not under pytest's tmp_path: the config file is read by subprocesses of other users' tools
    # only through OPSLIB_CONFIG, but Prometheus' data and the proxies list live here too.
    base = Path(tempfile.mkdtemp(prefix="opslib-platform2-"))
    try:
        with bring_up(pg_cluster, docker_client, prometheus_bin, base) as platform:
            yield platform
    finally:
        shutil.rmtree(base, ignore_errors=True)
