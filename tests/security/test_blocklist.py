"""The blocklist on a real database: block/unblock plans, expiry, refusals, the cached
is_blocked, and no update lost while lookups run hard."""

from __future__ import annotations

import ipaddress
import threading
import time
from datetime import timedelta

import pytest

from opslib.config import SecuritySettings, Settings
from opslib.security import Blocklist, BlockRefused, check_blockable, parse_network
from opslib.security._blocklist import protected_networks
from tests.dbkit import TestDatabase


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_block_is_idempotent_and_unblock_keeps_history(platform_db: TestDatabase) -> None:
    blocklist = Blocklist(platform_db, SecuritySettings(cache_seconds=0))
    plan = blocklist.block("10.6.6.6", reason="brute force", length=timedelta(hours=1), actor="al")
    assert plan.action == "block"
    assert str(plan.network) == "10.6.6.6/32"
    again = blocklist.block("10.6.6.6/32", reason="brute force", length=None, actor="al")
    assert again.action == "extend"
    assert again.expires_at is None
    assert blocklist.block("10.6.6.6", reason="brute force", length=None).action == "keep"
    assert blocklist.is_blocked("10.6.6.6")
    assert not blocklist.is_blocked("10.6.6.7")
    assert blocklist.unblock("10.6.6.6").action == "unblock"
    assert blocklist.unblock("10.6.6.6").action == "none"
    assert not blocklist.is_blocked("10.6.6.6")
    (entry,) = blocklist.entries(include_removed=True)
    assert entry.removed_by is not None
    assert entry.actor == "al"
    assert blocklist.entries() == []


def test_an_expired_block_no_longer_blocks(platform_db: TestDatabase) -> None:
    blocklist = Blocklist(platform_db, SecuritySettings(cache_seconds=0))
    blocklist.block("2001:db8::/48", reason="scan", length=timedelta(seconds=1))
    assert blocklist.is_blocked("2001:db8::1")
    time.sleep(1.2)
    assert not blocklist.is_blocked("2001:db8::1")


def test_the_cache_holds_for_cache_seconds(platform_db: TestDatabase) -> None:
    clock = _Clock()
    reader = Blocklist(platform_db, SecuritySettings(cache_seconds=5), clock=clock)
    writer = Blocklist(platform_db.open(), SecuritySettings())
    try:
        assert not reader.is_blocked("10.1.2.3")
        writer.block("10.1.2.0/24", reason="scan", length=None)
        assert not reader.is_blocked("10.1.2.3")  # answered from memory
        clock.now = 5.0
        assert reader.is_blocked("10.1.2.3")
    finally:
        writer.database.close()


def test_refusals() -> None:
    settings = Settings(
        prometheus_url="http://10.9.0.1:9090",
        security=SecuritySettings(allowlist=["192.168.0.0/16"], operator_addresses=["172.16.0.9"]),
    )
    protected = protected_networks(settings)
    cases = {
        "0.0.0.0/0": "every address",
        "::/0": "every address",
        "192.168.4.0/24": "allowlisted",
        "192.0.0.0/8": "allowlisted",
        "172.16.0.0/24": "an operator's address",
        "10.9.0.1": "a platform host",
    }
    for target, why in cases.items():
        with pytest.raises(BlockRefused, match=why):
            check_blockable(parse_network(target), protected)
    with pytest.raises(BlockRefused, match="your own address"):
        check_blockable(parse_network("10.20.0.0/16"), protected, own=["10.20.3.4"])
    legit = {"10.30.0.1": 90, "10.30.0.2": 5, "10.40.0.1": 5}
    with pytest.raises(BlockRefused, match="95% of recent legitimate requests"):
        check_blockable(parse_network("10.30.0.0/16"), protected, legit=legit, max_share=0.05)
    check_blockable(parse_network("10.40.0.1"), protected, legit=legit, max_share=0.05)
    check_blockable(parse_network("10.6.6.6"), protected, own=["10.20.3.4"])


def test_the_operators_address_is_the_servers_view(platform_db: TestDatabase) -> None:
    address = Blocklist(platform_db).operator_address()
    assert address in (None, "127.0.0.1", "::1")


def test_no_update_lost_during_heavy_lookups(platform_db: TestDatabase) -> None:
    """Readers hammer is_blocked while two writers block and unblock at once: every change
    lands, and the readers see the final state within cache_seconds."""
    reader = Blocklist(platform_db, SecuritySettings(cache_seconds=0.05))
    stop = threading.Event()
    lookups = [0]
    errors: list[BaseException] = []

    def read() -> None:
        try:
            n = 0
            while not stop.is_set():
                reader.is_blocked(f"10.50.{n % 200}.1")
                n += 1
            lookups[0] += n
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def write(part: int) -> None:
        db = platform_db.open()
        try:
            writer = Blocklist(db)
            for i in range(part, 200, 2):
                writer.block(f"10.50.{i}.0/24", reason="scan", length=None, actor=f"w{part}")
            for i in range(part, 200, 4):
                writer.unblock(f"10.50.{i}.0/24")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            db.close()

    readers = [threading.Thread(target=read) for _ in range(2)]
    writers = [threading.Thread(target=write, args=(p,)) for p in (0, 1)]
    for t in (*readers, *writers):
        t.start()
    for t in writers:
        t.join(120)
    time.sleep(0.2)
    final = {i for i in range(200) if i % 4 not in (0, 1)}
    seen = {i for i in range(200) if reader.is_blocked(f"10.50.{i}.1")}
    stop.set()
    for t in readers:
        t.join(10)
    assert not errors
    assert lookups[0] > 1000
    assert seen == final
    rows = platform_db.fetch_all("SELECT network FROM opslib.blocklist WHERE removed_at IS NULL")
    assert {
        int(ipaddress.ip_network(r["network"]).network_address.packed[2]) for r in rows
    } == final
