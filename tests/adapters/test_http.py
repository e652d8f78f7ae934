"""download() against real HTTP servers on 127.0.0.1: streaming, credentials (sent, never shown
or logged), redirects, status errors, timeouts, the deadline and the size bound."""

from __future__ import annotations

import base64
import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from opslib.adapters import download
from opslib.errors import ConfigError, DataError, DependencyError, UnreachableError
from tests.support import free_port

SECRET = "l1st-s3cret-pw"
USER = "feed"
BLOCK = b"10.0.0.1:3128\n" * 1000  # 14 kB


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        route = self.path.strip("/").split("?")[0]
        self.server.seen.append((route, self.headers.get("Authorization")))
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._answer(route)

    def _answer(self, route: str) -> None:
        if route == "list":
            self._send(200, BLOCK * 10)
        elif route == "private":
            expected = "Basic " + base64.b64encode(f"{USER}:{SECRET}".encode()).decode()
            if self.headers.get("Authorization") != expected:
                self._send(401, b"who are you?\n")
            else:
                self._send(200, BLOCK)
        elif route == "missing":
            self._send(404, b"not here\n")
        elif route.startswith("hop"):  # hop3 -> hop2 -> hop1 -> hop0 -> private
            left = int(route[3:])
            self._redirect(f"/hop{left - 1}" if left else "/private")
        elif route == "elsewhere":  # to the other server, another origin
            self._redirect(f"http://127.0.0.1:{self.server.other_port}/private")
        elif route == "to-ftp":
            self._redirect("ftp://127.0.0.1/list")
        elif route == "stall":  # headers, then silence
            self.send_response(200)
            self.end_headers()
            self.wfile.flush()
            time.sleep(3)
        elif route == "trickle":  # a line every 0.1 s, for 3 s
            self.send_response(200)
            self.end_headers()
            for _ in range(30):
                self.wfile.write(b"10.0.0.1:3128\n")
                self.wfile.flush()
                time.sleep(0.1)
        elif route == "huge-declared":
            self.send_response(200)
            self.send_header("Content-Length", str(10 * 1024 * 1024))
            self.end_headers()
        elif route == "huge":  # no length: only counting tells
            self.send_response(200)
            self.end_headers()
            for _ in range(200):
                self.wfile.write(BLOCK)
        else:
            self._send(404, b"no such route\n")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests assert on what the client saw."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    seen: list[tuple[str, str | None]]
    other_port: int


@dataclass
class Served:
    port: int
    seen: list[tuple[str, str | None]] = field(default_factory=list)

    def url(self, route: str, *, credentials: bool = False) -> str:
        auth = f"{USER}:{SECRET}@" if credentials else ""
        return f"http://{auth}127.0.0.1:{self.port}/{route}"


@contextlib.contextmanager
def _serving(other_port: int = 0) -> Iterator[Served]:
    server = _Server(("127.0.0.1", free_port()), _Handler)
    server.seen = []
    server.other_port = other_port
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="list-server", daemon=True
    )
    thread.start()
    try:
        yield Served(server.server_address[1], server.seen)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def servers() -> Iterator[tuple[Served, Served]]:
    """A list server and a second one (another origin) it can redirect to."""
    with _serving() as other, _serving(other.port) as main:
        yield main, other


def _read(url: str, **limits: Any) -> bytes:
    options: dict[str, Any] = {"connect_timeout": 2.0, "read_timeout": 2.0, **limits}
    with download(url, **options) as chunks:
        return b"".join(chunks)


def test_streams_the_body(servers: tuple[Served, Served]) -> None:
    main, _other = servers
    with download(main.url("list"), connect_timeout=2, read_timeout=2) as chunks:
        pieces = list(chunks)
    assert b"".join(pieces) == BLOCK * 10
    assert len(pieces) > 1  # streamed in chunks, not one read


def test_credentials_are_sent_but_never_logged_or_shown(
    servers: tuple[Served, Served], caplog: pytest.LogCaptureFixture
) -> None:
    main, _other = servers
    caplog.set_level(logging.DEBUG)
    assert _read(main.url("private", credentials=True)) == BLOCK
    assert main.seen[-1][1] is not None  # sent as Basic auth
    with pytest.raises(DependencyError) as missing:
        _read(main.url("missing", credentials=True))
    assert "HTTP 404" in str(missing.value)
    assert f"127.0.0.1:{main.port}/missing" in str(missing.value)
    assert "HTTP Request: GET" in caplog.text  # httpx did log each request ...
    for shown in (caplog.text, str(missing.value)):
        assert SECRET not in shown  # ... without the password


def test_wrong_credentials_are_an_error_without_them(servers: tuple[Served, Served]) -> None:
    main, _other = servers
    wrong = main.url("private", credentials=True).replace(SECRET, "not-the-pw-9")
    with pytest.raises(DependencyError, match="HTTP 401") as caught:
        _read(wrong)
    assert "not-the-pw-9" not in str(caught.value)


def test_redirects_are_followed_a_bounded_number_of_times(
    servers: tuple[Served, Served],
) -> None:
    main, _other = servers
    assert _read(main.url("hop3", credentials=True)) == BLOCK  # same origin: auth kept
    assert [route for route, _auth in main.seen[-5:]] == ["hop3", "hop2", "hop1", "hop0", "private"]
    with pytest.raises(DependencyError, match="more than 2 redirects") as caught:
        _read(main.url("hop3", credentials=True), max_redirects=2)
    assert SECRET not in str(caught.value)
    with pytest.raises(DependencyError, match="redirected to a ftp URL"):
        _read(main.url("to-ftp"))


def test_credentials_stay_with_their_origin(servers: tuple[Served, Served]) -> None:
    main, other = servers
    with pytest.raises(DependencyError, match="HTTP 401"):
        _read(main.url("elsewhere", credentials=True))
    assert other.seen == [("private", None)]  # the other origin never saw them


def test_a_stalled_server_times_out(servers: tuple[Served, Served]) -> None:
    main, _other = servers
    begin = time.monotonic()
    with pytest.raises(UnreachableError, match=r"no answer within 0\.5 s") as caught:
        _read(main.url("stall", credentials=True), read_timeout=0.5)
    assert time.monotonic() - begin < 2.5
    assert SECRET not in str(caught.value)


def test_a_trickle_ends_at_the_deadline(servers: tuple[Served, Served]) -> None:
    main, _other = servers
    begin = time.monotonic()
    with pytest.raises(UnreachableError, match=r"not complete within 0\.4 s"):
        _read(main.url("trickle"), deadline=0.4)
    assert time.monotonic() - begin < 2.0


def test_oversized_lists_are_refused(servers: tuple[Served, Served]) -> None:
    main, _other = servers
    with pytest.raises(DataError, match="more than 1 MB") as declared:
        _read(main.url("huge-declared", credentials=True), max_bytes=1 << 20)
    assert SECRET not in str(declared.value)
    with pytest.raises(DataError, match="more than 1 MB"):
        _read(main.url("huge"), max_bytes=1 << 20)
    assert len(_read(main.url("huge"), max_bytes=4 << 20)) == 200 * len(BLOCK)


def test_unreachable_and_bad_urls() -> None:
    with pytest.raises(UnreachableError) as refused:
        _read(f"http://{USER}:{SECRET}@127.0.0.1:{free_port()}/list")
    assert SECRET not in str(refused.value)
    with pytest.raises(ConfigError, match="only http and https"):
        _read(f"ftp://{USER}:{SECRET}@127.0.0.1/list")
