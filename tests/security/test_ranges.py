"""AddressSet against the ipaddress module on random networks and addresses (IPv4 and IPv6)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opslib.errors import InputError
from opslib.security import AddressSet, Blocklist, address_key, parse_network

_v4 = st.builds(
    lambda a, p: ipaddress.IPv4Network((a, p), strict=False),
    st.integers(0, 2**32 - 1),
    st.integers(8, 32),
)
_v6 = st.builds(
    lambda a, p: ipaddress.IPv6Network((a, p), strict=False),
    st.integers(0, 2**128 - 1),
    st.integers(16, 128),
)
_nets = st.lists(st.one_of(_v4, _v6), max_size=40)
_addrs = st.lists(
    st.one_of(
        st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address),
        st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(_nets, _addrs)
def test_membership_matches_ipaddress(
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network],
    addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address],
) -> None:
    found = AddressSet.of(networks)
    probes = list(addresses)
    for net in networks:  # the edges of each network and just outside them
        probes += [net.network_address, net.broadcast_address]
        if int(net.broadcast_address) < (2**32 if net.version == 4 else 2**128) - 1:
            probes.append(net.broadcast_address + 1)
        if int(net.network_address) > 0:
            probes.append(net.network_address - 1)
    for address in probes:
        mapped = getattr(address, "ipv4_mapped", None)
        expected = any(
            (address.version == n.version and address in n) or (mapped is not None and mapped in n)
            for n in networks
        )
        assert (str(address) in found) is expected, address
        assert (address in found) is expected
    assert list(found.starts) == sorted(found.starts)
    assert all(s <= e for s, e in zip(found.starts, found.ends, strict=True))
    assert all(e + 1 < s for e, s in zip(found.ends, found.starts[1:], strict=False))


def test_ipv4_mapped_ipv6_is_its_ipv4_address() -> None:
    found = AddressSet.of([parse_network("192.0.2.0/24")])
    assert "::ffff:192.0.2.7" in found
    assert "192.0.3.1" not in found
    assert "2001:db8::1" not in found


def test_not_an_address() -> None:
    assert address_key("not-an-ip") is None
    assert address_key("1") is None  # inet_aton would take it; we do not
    assert "nonsense" not in AddressSet.of([parse_network("0.0.0.0/1")])


@pytest.mark.parametrize(
    ("text", "message"),
    [("10.0.0.1/33", "not an IP address or CIDR"), ("10.0.0.1/24", "did you mean 10.0.0.0/24")],
)
def test_bad_networks(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_network(text)


class _Rows:
    """The blocklist's two refresh queries answered from a list of networks."""

    def __init__(self, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> None:
        self.rows = [{"host": str(n.network_address), "bits": n.prefixlen} for n in networks]

    def fetch_one(self, *_args: object) -> dict[str, object]:
        return {"n": len(self.rows), "changed": 1, "next_expiry": None}

    def fetch_all(self, *_args: object) -> list[dict[str, object]]:
        return self.rows


@settings(max_examples=100, deadline=None)
@given(_nets, _addrs)
def test_is_blocked_matches_ipaddress(
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network],
    addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address],
) -> None:
    blocklist = Blocklist(_Rows(networks))  # type: ignore[arg-type]
    probes = list(addresses) + [n.broadcast_address for n in networks]
    for address in probes:
        mapped = getattr(address, "ipv4_mapped", None)
        expected = any(
            (address.version == n.version and address in n) or (mapped is not None and mapped in n)
            for n in networks
        )
        assert blocklist.is_blocked(str(address)) is expected, address
        assert blocklist.is_blocked(str(address)) is expected  # and from the answer cache
