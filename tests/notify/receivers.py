"""Real local receivers for notices: a webhook server and an SMTP server (aiosmtpd), on
127.0.0.1 only."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.support import free_port

__all__ = ["Hooks", "MailServer", "Received", "TlsFiles", "hooks", "mail_server", "silent_port"]

TOKEN = "T0KEN-hook-5ecret-9f8e7d"
"""The secret path part of the recording webhook's URL."""


@dataclass(frozen=True)
class Received:
    """One POST the webhook receiver got."""

    path: str
    content_type: str
    body: dict[str, Any]


@dataclass
class Hooks:
    """A webhook server: ``/hook/<TOKEN>`` records and answers 200, ``/fail`` answers 500,
    ``/flaky`` answers 503 once and then records."""

    port: int
    received: list[Received] = field(default_factory=list)
    hits: dict[str, int] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def recording_url(self) -> str:
        return self.url(f"/hook/{TOKEN}")


def _handler(hooks: Hooks) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            path = self.path.split("?", 1)[0]
            hooks.hits[path] = hooks.hits.get(path, 0) + 1
            if path == "/fail" or (path == "/flaky" and hooks.hits[path] == 1):
                status = 500 if path == "/fail" else 503
                self.send_response(status)
                self.send_header("content-length", "14")
                self.end_headers()
                self.wfile.write(b"receiver down\n")
                return
            hooks.received.append(
                Received(path, self.headers.get("content-type", ""), json.loads(raw))
            )
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def hooks(tls: ssl.SSLContext | None = None) -> Iterator[Hooks]:
    """The webhook server on a free port of 127.0.0.1, optionally over TLS."""
    state = Hooks(port=free_port())
    server = ThreadingHTTPServer(("127.0.0.1", state.port), _handler(state))
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel does) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", free_port()))
        listener.listen(16)
        yield listener.getsockname()[1]


@dataclass(frozen=True)
class TlsFiles:
    """A test CA (its PEM file) and a server context for 127.0.0.1 signed by it."""

    ca_file: Path
    server: ssl.SSLContext


def make_tls(directory: Path) -> TlsFiles:
    authority = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(server)
    ca_file = directory / "test-ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    return TlsFiles(ca_file, server)


USER, PASSWORD = "notifier", "smtp-Pa55word-x7"


@dataclass
class MailServer:
    """An aiosmtpd server: what it received, and which AUTH mechanisms logged in."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[tuple[str, str, bool]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        parsed = message_from_bytes(content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.envelopes.append((str(envelope.mail_from), [str(r) for r in envelope.rcpt_tos]))
        return "250 OK"


def _authenticator(mail: MailServer, password: str) -> Any:
    def check(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == USER
            and data.password.decode() == password
        )
        mail.logins.append((mechanism, data.login.decode() if ok else "?", ok))
        return AuthResult(success=ok, handled=False)

    return check


@contextmanager
def mail_server(
    tls: TlsFiles,
    *,
    implicit_tls: bool = False,
    password: str = PASSWORD,
    mechanisms: tuple[str, ...] = ("LOGIN", "PLAIN"),
) -> Iterator[MailServer]:
    """SMTP on 127.0.0.1 requiring TLS (STARTTLS, or implicit) and AUTH with ``password``."""
    mail = MailServer(port=free_port())
    excluded = [m for m in ("LOGIN", "PLAIN") if m not in mechanisms]
    options: dict[str, Any] = {
        "auth_required": True,
        "auth_require_tls": True,
        "authenticator": _authenticator(mail, password),
        "auth_exclude_mechanism": excluded,
    }
    if implicit_tls:
        # The whole session is TLS, but aiosmtpd counts only STARTTLS as "TLS" for AUTH.
        options["auth_require_tls"] = False
        controller = Controller(
            mail, hostname="127.0.0.1", port=mail.port, ssl_context=tls.server, **options
        )
    else:
        controller = Controller(
            mail,
            hostname="127.0.0.1",
            port=mail.port,
            tls_context=tls.server,
            require_starttls=True,
            **options,
        )
    controller.start()
    try:
        yield mail
    finally:
        controller.stop()
