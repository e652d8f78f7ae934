"""Real sites on 127.0.0.1 for the verification tests: a threaded HTTP(S) server whose answer a
test chooses per request (by path and by the peer's address: the test proxies of
:mod:`tests.proxies.servers` connect from ``EXIT_IP``), and certificates from a test CA."""

from __future__ import annotations

import datetime as dt
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import trustme

from tests.support import free_port

__all__ = ["CAPTCHA", "SHOP_PAGE", "Answer", "Certs", "make_certs", "site"]

SHOP_PAGE = (
    "<!doctype html><html><head><title>Kettle | Test Shop</title></head><body>"
    '<div class="product" itemscope itemtype="https://schema.org/Product"><h1>Kettle</h1>'
    '<span class="price" itemprop="price" content="12.50">12,50 \u20ac</span></div>'
    "</body></html>"
).encode()
"""A product page as shops serve them."""
CAPTCHA = (
    b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
    b'<div id="cf-chl-widget">Please complete the captcha to continue.</div></body></html>'
)
"""A bot wall's challenge page."""


@dataclass(frozen=True)
class Answer:
    """What the site answers: status, body, extra headers, after a delay (seconds)."""

    status: int = 200
    body: bytes = SHOP_PAGE
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Behaviour = Callable[[str, str], Answer]  # (peer address, path) -> answer


def _handler(behaviour: Behaviour, hits: list[str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.client_address[0])
            answer = behaviour(self.client_address[0], self.path)
            time.sleep(answer.delay)
            self.send_response(answer.status)
            for name, value in {"Content-Type": "text/html", **answer.headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def site(
    behaviour: Behaviour | Answer = Answer(), tls: ssl.SSLContext | None = None
) -> Iterator[tuple[int, list[str]]]:
    """A site on a free port of 127.0.0.1 (TLS with ``tls``); yields (port, peers seen)."""
    chosen = behaviour if callable(behaviour) else (lambda _peer, _path: behaviour)
    hits: list[str] = []
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _handler(chosen, hits))
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server.server_address[1], hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclass(frozen=True)
class Certs:
    """A test CA (its PEM file) and server contexts: valid for ``good.test``, expired (for
    ``expired.test``), and one for ``other.test`` (wrong for any other name)."""

    ca_file: Path
    valid: ssl.SSLContext
    expired: ssl.SSLContext
    other_name: ssl.SSLContext
    valid_days: int


def _server(leaf: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(context)
    return context


def make_certs(directory: Path, valid_days: int = 10) -> Certs:
    """Certificates from a fresh test CA; the valid one ends in ``valid_days`` days."""
    authority = trustme.CA()
    now = dt.datetime.now(dt.UTC)
    valid = authority.issue_cert("good.test", not_after=now + dt.timedelta(days=valid_days))
    expired = authority.issue_cert(
        "expired.test", not_before=now - dt.timedelta(days=30), not_after=now - dt.timedelta(days=2)
    )
    other = authority.issue_cert("other.test")
    ca_file = directory / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    return Certs(ca_file, _server(valid), _server(expired), _server(other), valid_days)
