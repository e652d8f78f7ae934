"""Reading access logs: common, combined and JSON lines; garbage, huge lines, non-UTF-8."""

from __future__ import annotations

import io
import json

from opslib.security import Analyzer, iter_chunks, json_record, parse_chunk
from opslib.security._columns import columns
from tests.security._logs import NOW, clf


def test_combined_line() -> None:
    records, lines = parse_chunk(clf("10.0.0.1", "/x?a=1", 401, user="k:0123456789"))
    assert lines == 1
    ((ip, user, minute, second, zone, method, path, status, agent),) = records
    assert (ip, user, minute, second, zone) == (
        b"10.0.0.1",
        b"k:0123456789",
        b"02/Dec/2026:10:00",
        b"00",
        b"+0000",
    )
    assert (method, path, status, agent) == (b"GET", b"/x?a=1", b"401", b"pricewatch-client/1.2")


def test_common_line_has_no_agent() -> None:
    records, _ = parse_chunk(clf("2001:db8::1", agent=None))
    assert records[0][0] == b"2001:db8::1"
    assert records[0][8] == b""


def test_json_lines() -> None:
    line = json.dumps(
        {
            "remote_addr": "10.0.0.2",
            "time": "2026-12-02T10:00:07Z",
            "request": "POST /login HTTP/1.1",
            "status": 401,
            "http_user_agent": "curl/8",
            "api_key": "secret-key-123",
        }
    ).encode()
    record = json_record(line)
    assert record is not None
    assert record[0] == b"10.0.0.2"
    assert record[2] == b"02/Dec/2026:10:00"
    assert record[3] == b"07"
    assert record[5:8] == (b"POST", b"/login", b"401")
    records, lines = parse_chunk(line + b"\n" + clf("10.0.0.3"))
    assert lines == 2
    assert {r[0] for r in records} == {b"10.0.0.2", b"10.0.0.3"}


def test_garbage_is_counted_not_fatal() -> None:
    chunk = b"".join(
        [
            b"not a log line at all\n",
            b"{broken json\n",
            b'{"status": "x"}\n',
            b"[]\n",
            clf("10.0.0.1"),
            b'10.0.0.1 - - [99/Foo/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1\n',
        ]
    )
    records, lines = parse_chunk(chunk)
    assert lines == 6
    assert [r[0] for r in records] == [b"10.0.0.1", b"10.0.0.1"]  # the bad date: dropped later
    analyzer = Analyzer()
    analyzer.feed_chunk(chunk)
    assert (analyzer.lines, analyzer.parsed) == (6, 1)


def test_non_utf8_bytes_stay_bytes() -> None:
    line = clf("10.0.0.1", "/caf\xe9").replace(b"caf\xc3\xa9", b"caf\xe9\xff")
    records, _ = parse_chunk(line)
    assert records[0][6] == b"/caf\xe9\xff"


def test_a_1mb_line_is_skipped_and_the_rest_read() -> None:
    huge = b"10.9.9.9 - - " + b"A" * 1_048_576 + b"\n"
    data = clf("10.0.0.1") + huge + clf("10.0.0.2")
    lines = 0
    ips = []
    for chunk in iter_chunks(io.BytesIO(data), size=64 * 1024):
        records, n = parse_chunk(chunk)
        lines += n
        ips += [r[0] for r in records]
    assert ips == [b"10.0.0.1", b"10.0.0.2"]
    assert lines == 3


def test_the_columnar_path_agrees_with_the_regex() -> None:
    chunk = b"".join(
        clf(f"10.0.0.{i % 5}", f"/p/{i % 7}", (200, 401, 404)[i % 3], at=NOW) for i in range(200)
    )
    cols = columns(chunk, b"403")
    assert cols is not None
    per_minute, per_path, agents, served, lines = cols
    assert lines == 200
    assert sum(per_minute.values()) == 200
    assert sum(agents.values()) == 200
    records, _ = parse_chunk(chunk)
    assert sum(per_path.values()) == len(records) == 200
    assert set(served) == {f"10.0.0.{i}".encode() for i in range(5)}
    assert columns(clf("10.0.0.1", agent=None), b"403") is None  # common format: regex path
