"""The compiled scanner (``security/_scan.c``): built wherever a C compiler is, and the fast
analyzer's reports through it equal the reference's on the same logs as the columnar way's
(tests/security/test_analysis_fast.py), on lines made to trip a hand-written parser, and with
the next chunk parsed in a thread while the last one is merged."""

from __future__ import annotations

import io
import os
import random
import shutil
from datetime import timedelta
from typing import Any

import pytest

from opslib.security import Analysis, Analyzer, Policy, iter_chunks
from opslib.security import _fast as fast_module
from opslib.security._fast import FastAnalyzer
from opslib.security._parse import parse_chunk
from tests.security._logs import NOW, clf, seconds
from tests.security.test_analysis_fast import _irregular, _log

compiled = pytest.mark.skipif(
    not fast_module.COMPILED,
    reason="the compiled scanner is not built here (no C compiler at install)",
)


class _Counting(FastAnalyzer):
    """Counts the chunks the compiled scanner took."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.taken = 0

    def _merge(self, parsed: Any) -> None:
        self.taken += 1
        super()._merge(parsed)


def _both(chunks: list[bytes], **kwargs: Any) -> tuple[Analysis, Analysis, int]:
    reference, fast = Analyzer(**kwargs), _Counting(**kwargs)
    for chunk in chunks:
        reference.feed_chunk(chunk)
        fast.feed_chunk(chunk)
    policy = Policy(rate=0.5, min_requests=10)
    return reference.result(policy), fast.result(policy), fast.taken


def _chunks(lines: list[bytes], size: int) -> list[bytes]:
    return list(iter_chunks(io.BytesIO(b"".join(lines)), size))


def _same(reference: Analysis, fast: Analysis) -> None:
    assert fast.as_dict(limit=1_000_000) == reference.as_dict(limit=1_000_000)
    assert fast == reference


def test_the_scanner_is_built_where_a_compiler_is() -> None:
    """CI has a compiler: the install must have built the scanner, never silently skipped it."""
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler on this machine")
    if os.environ.get("OPSLIB_NO_EXTENSION"):
        pytest.skip("OPSLIB_NO_EXTENSION is set: the install skipped the scanner on purpose")
    assert fast_module.COMPILED
    assert FastAnalyzer.compiled


@compiled
@pytest.mark.parametrize(("seed", "size"), [(1, 4096), (2, 64 * 1024), (3, 1 << 20)])
def test_equal_on_combined_format_with_attacks(seed: int, size: int) -> None:
    chunks = _chunks(_log(seed), size)
    reference, fast, taken = _both(chunks)
    _same(reference, fast)
    assert taken == len(chunks)
    assert {"10.66.0.1", "10.77.0.1", "10.99.0.9"} <= {s.client for s in reference.suspects}


@compiled
def test_equal_with_irregular_chunks_between_regular_ones() -> None:
    regular = _log(4, minutes=40)
    chunks = _chunks(regular[:2000] + _irregular(5) + regular[2000:], 8192)
    reference, fast, taken = _both(chunks)
    _same(reference, fast)
    assert 0 < taken < len(chunks)
    assert reference.client("10.2.0.1") is not None  # from JSON lines, the Python way


@compiled
def test_equal_with_stamps_in_two_zones_and_a_client_cap() -> None:
    chunks = _chunks(_log(6, minutes=30, zones=True), 16384)
    reference, fast, taken = _both(chunks)
    _same(reference, fast)
    assert taken == len(chunks)
    chunks = _chunks(_log(7, minutes=20), 4096)
    reference, fast, taken = _both(chunks, max_clients=10)
    _same(reference, fast)
    assert reference.clients_dropped > 0
    assert taken == len(chunks)


@compiled
def test_equal_with_a_window() -> None:
    """Chunks whose first line is older than the window go the reference's way."""
    lines = _log(8, minutes=120)
    since = int((NOW - timedelta(minutes=60)).timestamp()) // 60
    chunks = _chunks(lines, 8192)
    reference, fast, taken = _both(chunks, since_minute=since)
    _same(reference, fast)
    assert 0 < taken < len(chunks)


def _tricky(seed: int) -> list[bytes]:
    """Lines that a hand-written parser gets wrong: key parameters in every spelling, empty
    and over-long values, plain and non-plain queries, probes, odd statuses, bursts, agents
    past the eight kept, out-of-order minutes."""
    rng = random.Random(seed)
    paths = [
        "/p?API_KEY=UpperCase1",
        "/p?Api_Key=mixed2&key=second",
        "/p?x=1&apikey=k3",
        "/p?key=&token=t4",  # an empty value is no key: the next parameter is
        "/p?monkey=notakey",
        "/p?access_token=" + "a" * 600,  # 512 characters kept
        "/p&key=ampersand5",
        "/p?key=v6#frag",
        "/p?key=with%20space7",
        "/search?q=%27%20or%201=1",  # not plain: judged whole
        "/download?file=backup.bak",  # plain: its bare path judged
        "?page=x.php",
        "/.env",
        "/admin?x=1",
        "/p?",  # an empty query: not plain
        "/p?a=1&",  # not plain
        "/p?a=1&b=2",
    ]
    agents = [f"agent-{i}/1.0" for i in range(12)] + ["sqlmap/1.7", "Nikto/2.5", "-"]
    lines = []
    for i in range(3000):
        ip = f"10.{rng.randrange(3)}.0.{rng.randrange(12)}"
        at = NOW - timedelta(minutes=50) + seconds(i) - seconds(rng.choice((0, 0, 0, 90)))
        user = rng.choice(["-"] * 8 + ["alice", "k:0123456789"])
        status = rng.choice((200, 201, 204, 301, 304, 400, 401, 403, 404, 429, 500, 503))
        lines.append(clf(ip, rng.choice(paths), status, at=at, user=user, agent=rng.choice(agents)))
        if i % 500 == 0:
            lines.extend(clf("10.9.9.9", f"/b/{j}", at=at) for j in range(120))
    return lines


@compiled
@pytest.mark.parametrize("seed", [11, 12])
def test_equal_on_lines_made_to_trip_a_parser(seed: int) -> None:
    chunks = _chunks(_tricky(seed), 32 * 1024)
    reference, fast, taken = _both(chunks)
    _same(reference, fast)
    assert taken == len(chunks)
    keys = {k.client for k in reference.keys}
    assert len(keys) >= 10
    burst = reference.client("10.9.9.9")
    assert burst is not None
    assert burst.peak_per_minute >= 120


@pytest.mark.parametrize(
    "line",
    [
        b'10.0.0.1 - - [02/Dec/2026:09:00:00 +0000] "GET /a HTTP/1.1" 200 5 "-" "x"\r\n',
        b'10.0.0.1 - - [30/Feb/2026:09:00:00 +0000] "GET /a HTTP/1.1" 200 5 "-" "x"\n',
        b'10.0.0.1 - - [02/Dec/2026:09:00:00 +0000] "GET /a\\"b HTTP/1.1" 200 5 "-" "x"\n',
        b'10.0.0.1 - - [02/Dec/2026:09:00:00 +0000] "GET /a HTTP/1.1" x00 5 "-" "x"\n',
        b'10.0.0.1 - - [02/Dec/2026:09:00:00+0000] "GET /a HTTP/1.1" 200 5 "-" "x"\n',
        b'10.0.0.1 - - [02/Dec/2026:09:00:00 +0000] "GET /a\tb HTTP/1.1" 200 5 "-" "x"\n',
        b'10.0.0.1 - - [02/Dec/2026:09:00:00 +0000] "GET /a HTTP/1.1" 200 5\n',
        b"garbage\n",
        b"\n",
    ],
)
@compiled
def test_a_chunk_with_one_odd_line_goes_the_reference_way(line: bytes) -> None:
    """One line the scanner does not take (CRLF, no such date, an escaped quote, a status
    that is not a number, no space before the zone, a tab, common format, garbage, an empty
    line) sends its whole chunk the Python way; the counts stay the reference's."""
    lines = _log(13, minutes=5)
    chunks = [b"".join(lines[:50]) + line + b"".join(lines[50:])]
    reference, fast, taken = _both(chunks)
    _same(reference, fast)
    assert taken == 0


@compiled
def test_feed_after_a_chunk_keeps_the_order() -> None:
    """Records fed the Python way after a chunk (parsed in a thread) count after it."""
    lines = _log(14, minutes=10)
    chunk = b"".join(lines[: len(lines) // 2])
    rest = b"".join(lines[len(lines) // 2 :])
    reference, fast = Analyzer(), FastAnalyzer()
    for analyzer in (reference, fast):
        analyzer.feed_chunk(chunk)
        analyzer.feed(*parse_chunk(rest))
    policy = Policy(rate=0.5, min_requests=10)
    _same(reference.result(policy), fast.result(policy))


@compiled
def test_a_refusal_status_the_scanner_cannot_read_goes_the_python_way() -> None:
    """``security.blocked_status`` of other than three digits: the Python way counts, the same
    as the reference (the scanner would refuse the chunk with an error)."""
    chunks = _chunks(_log(15, minutes=10), 64 * 1024)
    reference, fast, taken = _both(chunks, blocked_status=4031)
    _same(reference, fast)
    assert taken == 0
