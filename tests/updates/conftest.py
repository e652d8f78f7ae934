"""TLS servers on 127.0.0.1 with trustme certificates (valid, expiring, expired, wrong name),
a refused port and a silent one."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme


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
