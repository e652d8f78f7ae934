"""The IPv4 /24 marks behind ``Blocklist.is_blocked`` against plain bisection, at every edge:
each network's first and last address, their neighbours, and the /24 boundaries around them."""

from __future__ import annotations

import ipaddress
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from opslib.security import AddressSet

_v4 = st.builds(
    lambda a, p: ipaddress.IPv4Network((a, p), strict=False),
    st.integers(0, 2**32 - 1),
    st.integers(0, 32),
)


def _edges(network: ipaddress.IPv4Network) -> list[int]:
    first, last = int(network.network_address), int(network.broadcast_address)
    points = [first - 1, first, first + 1, last - 1, last, last + 1]
    points += [first >> 8 << 8, (first >> 8 << 8) + 255, last >> 8 << 8, (last >> 8 << 8) + 255]
    points += [p - 1 for p in points] + [p + 1 for p in points]
    return [p for p in points if 0 <= p < 2**32]


@settings(max_examples=200, deadline=None)
@given(st.lists(_v4, max_size=30))
def test_marks_agree_with_bisection(networks: list[ipaddress.IPv4Network]) -> None:
    found = AddressSet.of(networks)
    marks = found.v4_marks()
    assert len(marks) == 1 << 24
    for key in {p for n in networks for p in _edges(n)}:
        mark = marks[key >> 8]
        expected = found.contains_key(key)
        assert mark in (0, 1, 2)
        if mark != 2:
            assert (mark == 1) is expected, (ipaddress.IPv4Address(key), mark)


def test_marks_on_many_networks() -> None:
    """A /24 is marked whole only when every address in it is in the set (random /16../32
    networks, 2,000 random addresses and each network's edges)."""
    rng = random.Random(5)
    networks = [
        ipaddress.IPv4Network((rng.getrandbits(32), rng.randrange(16, 33)), strict=False)
        for _ in range(3000)
    ]
    found = AddressSet.of(networks)
    marks = found.v4_marks()
    probes = [rng.getrandbits(32) for _ in range(2000)] + [p for n in networks for p in _edges(n)]
    split = 0
    for key in probes:
        mark = marks[key >> 8]
        split += mark == 2
        if mark != 2:
            assert (mark == 1) is found.contains_key(key)
    assert split  # the edges of /25../32 networks fall in split /24s
    assert marks.count(1) > 0
    assert marks.count(0) > 0
