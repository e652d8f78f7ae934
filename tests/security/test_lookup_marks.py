"""The IPv4 /24 marks behind ``Blocklist.is_blocked`` against plain bisection, at every edge:
each network's first and last address, their neighbours, and the /24 boundaries around them."""

from __future__ import annotations

import ipaddress
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opslib.security import AddressSet, _blocklist, _fast
from opslib.security._ranges import address_key

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


_TEXTS = st.one_of(
    st.builds(
        ".".join,
        st.lists(
            st.one_of(st.integers(0, 300).map(str), st.sampled_from(["00", "01", "", " 1", "1a"])),
            min_size=3,
            max_size=5,
        ),
    ),
    st.text(max_size=20),
    st.sampled_from(["1.2.3.4\x00", "::1", "::ffff:1.2.3.4", "\u0661.2.3.4", "1.2.3.4/24"]),
)
_MARKS = bytearray(b % 3 for b in random.Random(3).randbytes(1 << 24))


def test_is_blocked_takes_the_compiled_step_where_built() -> None:
    if not _fast.COMPILED:
        pytest.skip("the compiled helpers are not built here (no C compiler at install)")
    assert _blocklist._v4_mark is not _blocklist._v4_mark_python


@settings(max_examples=2000, deadline=None)
@given(_TEXTS)
def test_the_v4_mark_reads_addresses_as_inet_pton(text: str) -> None:
    """``is_blocked``'s IPv4 step (in C where built) reads a text as ``socket.inet_pton``
    does: a dotted quad, or 3 and the slow way decides; an embedded NUL is no address."""
    assert _blocklist._v4_mark(_MARKS, text) == _blocklist._v4_mark_python(_MARKS, text)


@pytest.mark.parametrize("text", ["1.2.3.4\x00", "::1\x00", "", "x", "\u0661.2.3.4"])
def test_a_text_that_is_no_address_has_no_key(text: str) -> None:
    """``is_blocked`` says False for these (the slow way asks ``address_key``), never raises."""
    assert address_key(text) is None
