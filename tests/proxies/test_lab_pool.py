"""The lab's scrapers lease through the shared pool; proxy faults show in the pool's state."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from opslib.config import load_settings
from opslib.lab import Lab
from opslib.proxies import ProxyPool
from tests.support import wait_until


@pytest.fixture
def pool(healthy_lab: Lab) -> Iterator[ProxyPool]:
    with healthy_lab.database() as db:
        yield ProxyPool(db, load_settings(healthy_lab.config_file).proxies)


def test_workers_lease_every_lab_proxy(healthy_lab: Lab, pool: ProxyPool) -> None:
    labels = {label for label, _c, _p in healthy_lab.settings.proxies}
    proxies = {p.url: p for p in pool.proxies()}
    assert labels <= set(proxies)
    before = sum(p.requests for p in proxies.values())
    wait_until(
        lambda: sum(p.requests for p in pool.proxies()) >= before + 20, 20, "reports to the pool"
    )
    assert all(p.requests > 0 for p in pool.proxies() if p.url in labels)
    assert all(p.source == "lab" for p in pool.proxies() if p.url in labels)


def test_dead_proxy_backs_off_and_banned_proxy_is_banned(healthy_lab: Lab, pool: ProxyPool) -> None:
    lab = healthy_lab
    dead, banned = lab.settings.proxies[1][0], lab.settings.proxies[2][0]
    assert "refuses" in lab.inject("proxy-dead", target=lab.settings.proxies[1][1])
    lab.inject("proxy-banned", target=str(lab.settings.proxies[2][2]))

    def state(url: str) -> tuple[bool, int]:
        found = next(p for p in pool.proxies() if p.url == url)
        return found.backoff_until is not None, len(found.banned_for)

    wait_until(lambda: state(dead)[0], 30, f"{dead} backing off")
    wait_until(lambda: state(banned)[1] >= 3, 30, f"{banned} banned by several shops")
    assert {e["kind"] for e in pool.history(dead)} >= {"backoff"}
    lab.heal()
    # heal returns once the dead proxy listens again, so the next user is not refused
    socket.create_connection(("127.0.0.1", lab.settings.proxies[1][2]), timeout=2).close()
