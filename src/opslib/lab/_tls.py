"""The lab's TLS endpoint: a server on 127.0.0.1 whose certificate comes from a CA of the lab's
own (trustme), for ``opslib updates check`` and checks/monthly.

The certificate is fresh (90 days) unless the fault ``cert-expiring`` is active, when it ends
in :data:`EXPIRING_DAYS`; once healed a fresh one is issued. The fault is read from the control
file at every connection, so a change shows at the next handshake. The port is chosen by the
system and written to ``tls/port`` (the lab's config names it).

Run as ``python -m opslib.lab._tls --state-dir DIR``.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import ssl
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

import trustme

from opslib.config import toml_value
from opslib.errors import LabError
from opslib.lab._control import ControlFile
from opslib.lab._paths import LabPaths
from opslib.lab._procs import Supervisor

__all__ = [
    "EXPIRING_DAYS",
    "FAULT",
    "FRESH_DAYS",
    "TlsFiles",
    "main",
    "start_tls",
    "updates_config",
    "wait_port",
]

FAULT = "cert-expiring"
FRESH_DAYS = 90
EXPIRING_DAYS = 3
"""Days a ``cert-expiring`` certificate has left (under the critical 7 of updates.cert_days)."""
HOST = "127.0.0.1"


class TlsFiles:
    """Where the lab's TLS endpoint keeps its CA and its port."""

    def __init__(self, state_dir: Path) -> None:
        self.root = state_dir / "tls"

    @property
    def ca_cert(self) -> Path:
        return self.root / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.root / "ca.key"

    @property
    def port(self) -> Path:
        return self.root / "port"

    def ca(self) -> trustme.CA:
        """The lab's CA, made on first use (its key private to the lab's user)."""
        if self.ca_cert.exists() and self.ca_key.exists():
            return trustme.CA.from_pem(self.ca_cert.read_bytes(), self.ca_key.read_bytes())
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        ca = trustme.CA(organization_name="opslib lab")
        fd = os.open(self.ca_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(ca.private_key_pem.bytes())
        ca.cert_pem.write_to_path(str(self.ca_cert))
        return ca


def wait_port(state_dir: Path, timeout: float = 10.0) -> int:
    """The port the running TLS server listens on (waits for it to write it)."""
    path = TlsFiles(state_dir).port
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return int(path.read_text())
        except (OSError, ValueError):
            time.sleep(0.05)
    raise LabError(f"lab TLS server: no port in {path} within {timeout:g} s")


def start_tls(supervisor: Supervisor, state_dir: Path, env: dict[str, str]) -> int:
    """Start the TLS server unless it runs; its port."""
    if supervisor.pid("tls") is None:
        TlsFiles(state_dir).port.unlink(missing_ok=True)
        argv = [sys.executable, "-m", "opslib.lab._tls", "--state-dir", str(state_dir)]
        supervisor.start("tls", argv, env=env)
    return wait_port(state_dir)


def updates_config(state_dir: Path) -> list[str]:
    """The lab config's ``[updates]`` table: the TLS endpoint and the lab's CA."""
    files = TlsFiles(state_dir)
    return [
        "",
        "# opslib updates check, checks/monthly: the lab's TLS endpoint (fault cert-expiring)",
        "[updates]",
        f"endpoints = {toml_value([f'{HOST}:{wait_port(state_dir)}'])}",
        f"ca_file = {toml_value(str(files.ca_cert))}",
    ]


class _Certificates:
    """A server context per state: fresh or expiring; a new fresh one after each heal."""

    def __init__(self, ca: trustme.CA) -> None:
        self.ca = ca
        self.expiring = False
        self.context = self._issue(FRESH_DAYS)

    def _issue(self, days: int) -> ssl.SSLContext:
        now = datetime.now(UTC)
        cert = self.ca.issue_cert(
            HOST,
            "localhost",
            not_before=now - timedelta(days=1),
            not_after=now + timedelta(days=days),
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(context)
        return context

    def current(self, expiring: bool) -> ssl.SSLContext:
        if expiring != self.expiring:
            self.expiring = expiring
            self.context = self._issue(EXPIRING_DAYS if expiring else FRESH_DAYS)
        return self.context


def _answer(conn: socket.socket, context: ssl.SSLContext) -> None:
    conn.settimeout(5)
    try:
        with context.wrap_socket(conn, server_side=True) as tls:
            tls.recv(4096)
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
    except OSError:
        conn.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="opslib-lab-tls")
    parser.add_argument("--state-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    files = TlsFiles(args.state_dir)
    control = ControlFile(LabPaths(args.state_dir).control)
    certificates = _Certificates(files.ca())
    stop = threading.Event()

    def on_term(_sig: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, 0))
        listener.listen(64)
        listener.settimeout(0.5)
        port_file = files.port.with_suffix(".tmp")
        port_file.write_text(str(listener.getsockname()[1]))
        port_file.replace(files.port)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (TimeoutError, InterruptedError):
                continue
            try:
                expiring = FAULT in control.read().faults
            except LabError:
                expiring = certificates.expiring
            context = certificates.current(expiring)
            threading.Thread(target=_answer, args=(conn, context), daemon=True).start()
    files.port.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
