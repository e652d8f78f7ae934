"""A black-holed PostgreSQL (the TCP handshake completes, nothing ever answers) is named in its
one-line error: host, port and database, never the password (issue 9, item 6)."""

from __future__ import annotations

import socket
import time

import pytest

from opslib.adapters import Database
from opslib.errors import UnreachableError


def test_connection_timeout_names_host_and_port() -> None:
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(1)  # the kernel accepts the connection; no one ever reads from it
        port = hole.getsockname()[1]
        dsn = f"host=127.0.0.1 port={port} dbname=shop user=ops password=Hole-Secret-1"
        began = time.monotonic()
        with pytest.raises(UnreachableError) as caught, Database(dsn, connect_timeout=1) as db:
            db.probe()
    assert time.monotonic() - began < 10
    message = str(caught.value)
    assert "timeout expired" in message
    assert f"127.0.0.1:{port}/shop" in message
    assert "Hole-Secret-1" not in message
