"""Fixtures: the local receivers of tests/notify/receivers.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.notify.receivers import Hooks, MailServer, TlsFiles, hooks, mail_server, make_tls


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A test CA and a server certificate for 127.0.0.1."""
    return make_tls(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def webhook() -> Iterator[Hooks]:
    with hooks() as receiver:
        yield receiver


@pytest.fixture
def smtp(tls: TlsFiles) -> Iterator[MailServer]:
    """STARTTLS and AUTH (LOGIN or PLAIN) with the right password required."""
    with mail_server(tls) as server:
        yield server
