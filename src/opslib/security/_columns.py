"""The fast path for combined-format chunks: columns cut in C, features counted in C.

A chunk of combined-format lines has exactly six double quotes per line, so splitting it on
``"`` gives the columns at fixed strides; ``map``/``zip``/``Counter`` then count per client
without a Python statement per line. Chunks that are not that regular (common format, JSON,
garbage, an escaped quote) return None and go through the regular expression instead.
"""

from __future__ import annotations

from collections import Counter
from itertools import compress, repeat
from operator import itemgetter, ne

__all__ = ["Columns", "columns"]

_MINUTE = slice(1, 18)  # "[02/Dec/2026:10:49:26" -> "02/Dec/2026:10:49"
_SECOND = slice(19, 21)
_ZONE = slice(0, 5)  # "+0000]" -> "+0000"
_first, _second, _third, _fourth, _fifth = (itemgetter(i) for i in range(5))

Columns = tuple[
    "Counter[tuple[bytes, bytes, bytes]]",  # (ip, minute, zone) -> requests
    "Counter[tuple[bytes, bytes, bytes, bytes]]",  # (ip, user, path, status) -> requests
    "Counter[tuple[bytes, bytes]]",  # (ip, agent) -> requests
    "dict[bytes, tuple[bytes, bytes, bytes]]",  # ip -> (minute, zone, second) last served
    int,  # lines
]


def columns(chunk: bytes, refused: bytes) -> Columns | None:
    """The counts of a regular combined-format chunk (whole lines), or None."""
    parts = chunk.split(b'"')
    lines = len(parts) // 6
    if not lines or len(parts) % 6 != 1 or parts[4::6].count(b" ") != lines:
        return None
    if parts[-1].strip() or chunk.count(b"\n") != lines:
        return None
    heads = list(map(bytes.split, parts[0:-1:6]))
    if set(map(len, heads)) != {5}:
        return None
    requests = list(map(bytes.split, parts[1::6]))
    if set(map(len, requests)) != {3}:
        return None
    tails = list(map(bytes.split, parts[2::6]))
    if set(map(len, tails)) != {2}:
        return None
    ips = list(map(_first, heads))
    users = list(map(_third, heads))
    stamps = list(map(_fourth, heads))
    minutes = list(map(bytes.__getitem__, stamps, repeat(_MINUTE)))
    zones = list(map(bytes.__getitem__, map(_fifth, heads), repeat(_ZONE)))
    statuses = list(map(_first, tails))
    paths = list(map(_second, requests))
    per_minute = Counter(zip(ips, minutes, zones, strict=True))
    per_path = Counter(zip(ips, users, paths, statuses, strict=True))
    agents = Counter(zip(ips, parts[5::6], strict=True))
    seconds = map(bytes.__getitem__, stamps, repeat(_SECOND))
    served = dict(
        compress(
            zip(ips, zip(minutes, zones, seconds, strict=True), strict=True),
            map(ne, statuses, repeat(refused)),
        )
    )
    return per_minute, per_path, agents, served, lines
