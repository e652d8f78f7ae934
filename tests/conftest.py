"""Shared fixtures: a real PostgreSQL cluster, the Docker engine, the Prometheus binary.

Outside CI a missing piece of infrastructure skips the tests that need it, saying why;
in CI (``CI`` set) it fails them, so nothing that CI can run is skipped.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from psycopg import sql

from opslib import redact
from opslib.adapters import Database
from opslib.errors import LabError
from opslib.lab import Lab
from opslib.lab._postgres import PostgresCluster
from opslib.lab._prometheus import find_prometheus
from opslib.migrations import migrate
from tests.dbkit import TestDatabase
from tests.labkit import make_lab_settings, require_docker, require_lab_infrastructure
from tests.notify.receivers import Hooks, MailServer, TlsFiles, hooks, mail_server, make_tls
from tests.support import free_port, require


@pytest.fixture(autouse=True)
def _secrets_of_this_test_only() -> Iterator[None]:
    """Every secret a test's settings taught opslib.redact is forgotten after it: a long test
    process would otherwise mask whatever a fuzzed setting held (a word like "with") in every
    later test's output."""
    known = redact._Mask.known
    yield
    redact._Mask.known = known


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A test CA and a server certificate for 127.0.0.1 (the notify receivers' TLS)."""
    return make_tls(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def webhook() -> Iterator[Hooks]:
    """A local webhook receiver recording what it is sent (tests/notify/receivers.py)."""
    with hooks() as receiver:
        yield receiver


@pytest.fixture
def smtp(tls: TlsFiles) -> Iterator[MailServer]:
    """A local SMTP server: STARTTLS and AUTH (LOGIN or PLAIN) with the right password required."""
    with mail_server(tls) as server:
        yield server


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    """A private PostgreSQL cluster for the whole test run, with both migration sets applied."""
    try:
        from opslib.lab._postgres import find_pg_bindir

        find_pg_bindir()
    except Exception as exc:
        require(False, f"PostgreSQL server binaries not available: {exc}")
    # Not under pytest's tmp_path: that is private to root, and the server runs as another user.
    base = Path(tempfile.mkdtemp(prefix="opslib-test-pg-"))
    cluster = PostgresCluster(base, free_port())
    try:
        cluster.init()
        cluster.start()
        with Database(cluster.dsn) as db:
            migrate(db, ("opslib", "platform"))
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def db(pg_cluster: PostgresCluster) -> Iterator[TestDatabase]:
    """A connection to the test cluster."""
    with TestDatabase(pg_cluster.dsn) as database:
        yield database


@pytest.fixture
def fresh_db(pg_cluster: PostgresCluster) -> Iterator[TestDatabase]:
    """A new, empty database of its own (no migrations applied), dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    with Database(pg_cluster.dsn) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        dsn = pg_cluster.dsn.replace(f"dbname={pg_cluster.database}", f"dbname={name}")
        try:
            with TestDatabase(dsn) as fresh:
                yield fresh
        finally:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def platform_db(fresh_db: TestDatabase) -> TestDatabase:
    """A new database with the opslib and platform migrations applied."""
    migrate(fresh_db, ("opslib", "platform"))
    return fresh_db


@pytest.fixture
def env(platform_db: TestDatabase, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> TestDatabase:
    """The platform database, configured for ``opslib`` commands run in-process (no config
    file, actor ``carol``, a scratch working directory)."""
    for name in ("OPSLIB_CONFIG", "OPSLIB_ACTOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPSLIB_DATABASE_DSN", platform_db.dsn)
    monkeypatch.setenv("OPSLIB_ACTOR", "carol")
    monkeypatch.chdir(tmp_path)
    return platform_db


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """The local Docker engine."""
    require_docker()
    client = docker.from_env(timeout=10)
    yield client
    client.close()


@pytest.fixture(scope="session")
def prometheus_bin() -> str:
    """Path of the Prometheus server binary (Debian package ``prometheus``), found as the lab
    finds it (``$OPSLIB_LAB_PROMETHEUS``, PATH, /usr/bin)."""
    try:
        return find_prometheus()
    except LabError as exc:
        require(False, f"Prometheus not available: {exc}")
        raise


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
