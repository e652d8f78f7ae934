"""Sets of IP networks as merged integer intervals: O(log n) membership with ``bisect``.

IPv4 and IPv6 live in one integer space: an IPv4 address ``a`` is ``a`` and an IPv6 address
``b`` is ``b + 2**32`` shifted past every IPv4 value, so one sorted list answers both. An
IPv4-mapped IPv6 address (``::ffff:1.2.3.4``, as a dual-stack socket reports IPv4 clients) is
in the set when either form is.
"""

from __future__ import annotations

import ipaddress
import socket
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

from opslib.errors import InputError

__all__ = [
    "AddressSet",
    "Network",
    "address_key",
    "mapped_ipv4",
    "network_range",
    "parse_address",
    "parse_network",
]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_V6 = 1 << 32  # IPv6 keys start past every IPv4 key
_MAPPED = 0xFFFF << 32  # ::ffff:0:0/96
_V4_LAST = (1 << 32) - 1
_ALL, _PART = b"\x01", 2  # marks of a /24: 0 none of it is in the set, 1 all, 2 part


def parse_network(text: str) -> Network:
    """An IP address or CIDR as a network (host bits must be zero); InputError otherwise."""
    given = text.strip()
    try:
        return ipaddress.ip_network(given, strict=True)
    except ValueError as exc:
        hint = str(exc).split(" does not appear")[0]
        if "has host bits set" in str(exc):
            loose = ipaddress.ip_network(given, strict=False)
            raise InputError(
                f"{given!r}: host bits set in a network (did you mean {loose}?)"
            ) from None
        raise InputError(f"{given!r}: not an IP address or CIDR ({hint})") from None


def parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """One IP address; InputError otherwise."""
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        raise InputError(f"{text.strip()!r}: not an IP address") from None


def _range(network: Network) -> tuple[int, int]:
    first, last = int(network.network_address), int(network.broadcast_address)
    if network.version == 4:
        return first, last
    return first + _V6, last + _V6


def address_key(text: str) -> int | None:
    """The integer key of an address given as text, or None when it is not one."""
    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")
    except (OSError, ValueError):  # ValueError: a NUL in the text
        pass
    try:
        value = int.from_bytes(socket.inet_pton(socket.AF_INET6, text.split("%", 1)[0]), "big")
    except (OSError, ValueError):
        return None
    return value + _V6


def mapped_ipv4(key: int) -> int | None:
    """The IPv4 key of an IPv4-mapped IPv6 key, else None."""
    value = key - _V6
    return value - _MAPPED if _MAPPED <= value < _MAPPED + _V6 else None


@dataclass(frozen=True)
class AddressSet:
    """Networks merged into disjoint sorted intervals ``starts[i]..ends[i]``."""

    starts: tuple[int, ...] = ()
    ends: tuple[int, ...] = ()

    def v4_marks(self) -> bytearray:
        """One byte per IPv4 /24 (index ``key >> 8``, 16 MiB): 0 when none of it is in the
        set, 1 when all of it is, 2 when part of it is (then :meth:`contains_key` decides)."""
        marks = bytearray(1 << 24)
        for first, end in zip(self.starts, self.ends, strict=True):
            if first > _V4_LAST:
                break
            last = min(end, _V4_LAST)
            lo, hi = (first + 255) >> 8, (last + 1) >> 8  # the /24s wholly inside: lo..hi-1
            if lo < hi:
                marks[lo:hi] = _ALL * (hi - lo)
            if first >> 8 < lo:
                marks[first >> 8] = _PART
            if last >> 8 >= max(hi, lo):
                marks[last >> 8] = _PART
        return marks

    @classmethod
    def of(cls, networks: Iterable[Network]) -> AddressSet:
        """The union of ``networks``."""
        return cls.from_ranges(_range(n) for n in networks)

    @classmethod
    def from_ranges(cls, ranges: Iterable[tuple[int, int]]) -> AddressSet:
        """The union of inclusive integer ranges (merged where they touch or overlap)."""
        starts: list[int] = []
        ends: list[int] = []
        for first, last in sorted(ranges):
            if ends and first <= ends[-1] + 1:
                ends[-1] = max(ends[-1], last)
            else:
                starts.append(first)
                ends.append(last)
        return cls(tuple(starts), tuple(ends))

    def __len__(self) -> int:
        return len(self.starts)

    def contains_key(self, key: int) -> bool:
        """Whether the integer key lies in the set (an IPv4-mapped address: either form)."""
        i = bisect_right(self.starts, key) - 1
        if i >= 0 and key <= self.ends[i]:
            return True
        v4 = mapped_ipv4(key) if key >= _V6 else None
        if v4 is None:
            return False
        i = bisect_right(self.starts, v4) - 1
        return i >= 0 and v4 <= self.ends[i]

    def __contains__(self, address: object) -> bool:
        if isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address):
            key: int | None = _range(ipaddress.ip_network(address))[0]
        elif isinstance(address, str):
            key = address_key(address)
        else:
            return False
        return key is not None and self.contains_key(key)

    def overlaps(self, network: Network) -> bool:
        """Whether any address of ``network`` lies in the set."""
        first, last = _range(network)
        i = bisect_right(self.starts, last) - 1
        return i >= 0 and self.ends[i] >= first


def network_range(network: Network) -> tuple[int, int]:
    """The inclusive integer key range of ``network`` (IPv6 shifted, see the module doc)."""
    return _range(network)
