"""TLS servers on 127.0.0.1 with trustme certificates (valid, expiring, expired, wrong name),
a refused port and a silent one; a compose-labelled project of locally built images."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import docker
import docker.errors
import pytest
import trustme

from opslib.config import Settings, UpdateSettings
from opslib.lab._image import ensure_image, python_mounts


@dataclass(frozen=True)
class TlsServer:
    """A TLS server on 127.0.0.1 that completes handshakes and closes."""

    port: int
    not_after: datetime

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"


def _serve(context: ssl.SSLContext, listener: socket.socket, stop: threading.Event) -> None:
    listener.settimeout(0.2)
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            return
        conn.settimeout(2)
        try:
            with context.wrap_socket(conn, server_side=True):
                pass
        except OSError:
            conn.close()


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def start_tls(ca: trustme.CA, *, days: float, name: str = "127.0.0.1") -> Iterator[TlsServer]:
    """A server whose certificate (for ``name``) ends ``days`` from now (negative: ended)."""
    not_after = datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)
    not_before = min(not_after - timedelta(days=1), datetime.now(UTC) - timedelta(days=1))
    cert = ca.issue_cert(name, not_before=not_before, not_after=not_after)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    stop = threading.Event()
    thread = threading.Thread(target=_serve, args=(context, listener, stop), daemon=True)
    thread.start()
    try:
        yield TlsServer(listener.getsockname()[1], not_after)
    finally:
        stop.set()
        thread.join(5)
        listener.close()


@pytest.fixture
def valid(ca: trustme.CA) -> Iterator[TlsServer]:
    yield from start_tls(ca, days=90)


@pytest.fixture
def expiring(ca: trustme.CA) -> Iterator[TlsServer]:
    yield from start_tls(ca, days=3)


@pytest.fixture
def soon(ca: trustme.CA) -> Iterator[TlsServer]:
    yield from start_tls(ca, days=14)


@pytest.fixture
def expired(ca: trustme.CA) -> Iterator[TlsServer]:
    yield from start_tls(ca, days=-2)


@pytest.fixture
def wrong_name(ca: trustme.CA) -> Iterator[TlsServer]:
    yield from start_tls(ca, days=90, name="shop.example")


@pytest.fixture
def refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again: nothing listens there


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


_NS = 1_000_000_000


@dataclass
class Project:
    """A compose-labelled project of one service, ``app``, built from ``context``."""

    client: docker.DockerClient
    name: str
    tag: str
    context: Path

    def build(self, revision: str, entrypoint: str = "") -> str:
        base = ensure_image(self.client)
        lines = [f"FROM {base}", f"LABEL org.opslib.test.revision={revision}"]
        if entrypoint:
            lines.append(f'ENTRYPOINT ["{entrypoint}"]')
        (self.context / "Dockerfile").write_text("\n".join(lines) + "\n")
        image, _ = self.client.images.build(
            path=str(self.context), tag=self.tag, pull=False, rm=True
        )
        return str(image.id)

    def run(self, number: int, image: str | None = None, **labels: str) -> str:
        container = self.client.containers.run(
            image or self.tag,
            ["/usr/bin/sleep", "3600"],
            name=f"{self.name}-app-{number}",
            detach=True,
            network_mode="host",
            labels={
                "com.docker.compose.project": self.name,
                "com.docker.compose.service": "app",
                "com.docker.compose.container-number": str(number),
                "org.opslib.test": self.name,
                **labels,
            },
            volumes=python_mounts(),
            environment={"APP_SETTING": "kept"},
            healthcheck={"test": ["CMD", "/usr/bin/true"], "interval": _NS, "timeout": _NS,
                         "retries": 2, "start_period": 0},
        )  # fmt: skip
        return str(container.id)

    def settings(self, **updates: object) -> Settings:
        return Settings(
            compose_project=self.name,
            expected_services=["app"],
            updates=UpdateSettings.model_validate(updates),
        )


@pytest.fixture
def project(docker_client: docker.DockerClient, tmp_path: Path) -> Iterator[Project]:
    name = f"opslib-upd-{uuid.uuid4().hex[:8]}"
    made = Project(docker_client, name, f"{name}:1", tmp_path)
    yield made
    for container in docker_client.containers.list(
        all=True, filters={"label": f"org.opslib.test={name}"}
    ):
        container.remove(force=True)
    for image in docker_client.images.list(filters={"label": "org.opslib.test.revision"}):
        if any(tag.startswith((name, "127.0.0.1:")) for tag in image.tags) or not image.tags:
            with contextlib.suppress(docker.errors.APIError):
                docker_client.images.remove(str(image.id), force=True)
