"""The miner: grouping, stack traces, bad input, bounded memory, what a pattern reports."""

from __future__ import annotations

import random
import tracemalloc
from datetime import UTC, datetime

import pytest

import opslib.logs._miner as _miner_module
from opslib.config import LogSettings
from opslib.logs import OTHER_ID, PatternMiner

JAVA_TRACE = [
    "2024-05-01 10:00:01 ERROR worker: job 17 failed",
    "java.lang.IllegalStateException: boom",
    "\tat com.shop.Scraper.fetch(Scraper.java:42)",
    "\tat com.shop.Worker.run(Worker.java:7)",
    "Caused by: java.io.IOException: reset",
    "\t... 12 more",
]
PYTHON_TRACE = [
    "2024-05-01 10:00:02 ERROR scraper: fetch of item 3 failed",
    "Traceback (most recent call last):",
    '  File "/app/scraper.py", line 10, in fetch',
    "    raise ValueError(url)",
    "ValueError: https://shop.test/item/3",
]


def _miner(**settings: object) -> PatternMiner:
    return PatternMiner(LogSettings.model_validate(settings), clock=lambda: 1_700_000_000.0)


def test_lines_of_one_template_share_a_pattern() -> None:
    miner = _miner()
    ids = miner.add_all(
        [
            "Accepted password for root from 10.0.0.1 port 22 ssh2",
            "Invalid user admin from 10.0.0.2",
            "Accepted password for bob from 10.0.0.3 port 2201 ssh2",
            "Invalid user test from 10.0.0.9",
        ]
    )
    assert ids[0] == ids[2] != ids[1] == ids[3]
    templates = {p.id: p.template for p in miner.patterns()}
    assert templates[ids[0]] == "Accepted password for <*> from <*> port <*> <*>"
    assert templates[ids[1]] == "Invalid user <*> from <*>"


def test_stack_trace_lines_join_their_record() -> None:
    miner = _miner()
    ids = miner.add_all([*JAVA_TRACE, *PYTHON_TRACE, "2024-05-01 10:00:03 INFO worker: idle"])
    assert len(ids) == len(JAVA_TRACE) + len(PYTHON_TRACE) + 1
    assert set(ids[: len(JAVA_TRACE)]) == {ids[0]}
    assert set(ids[len(JAVA_TRACE) : -1]) == {ids[len(JAVA_TRACE)]}
    assert ids[-1] not in ids[:-1]
    assert miner.records == 3
    assert miner.lines == len(ids)


def test_interleaved_traces_of_two_sources_stay_with_their_own_record() -> None:
    miner = _miner()
    first = miner.add("2024-05-01 10:00:01 ERROR a: boom", source="a")
    second = miner.add("2024-05-01 10:00:01 INFO b: started worker", source="b")
    assert miner.add("\tat com.shop.A.run(A.java:1)", source="a") == first
    assert miner.add("\tat com.shop.B.run(B.java:1)", source="b") == second


def test_bad_input_is_mined_not_fatal() -> None:
    miner = _miner(max_line_chars=1000)
    garbage = bytes(random.Random(1).randrange(256) for _ in range(4000))
    ids = [
        miner.add(garbage),
        miner.add(b"caf\xe9 au lait \xff\xfe ordered"),
        miner.add("x" * 1_000_000),
        miner.add(b"\x00\x01\x1b[31mred\x1b[0m"),
        miner.add(""),
    ]
    assert len(ids) == 5
    patterns = {p.id: p for p in miner.patterns()}
    assert patterns[ids[1]].template == "<*> au lait <*> ordered"
    assert all(len(p.example) <= 500 for p in patterns.values())
    assert all("\x00" not in p.template for p in patterns.values())


def test_memory_stays_bounded_on_an_endless_stream_of_new_templates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_miner_module, "_CACHE_SIZE", 500)  # the cache fills up in the test
    miner = _miner(max_templates=50)
    rng = random.Random(7)
    words = ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=6)) for _ in range(3000)]
    fed = 0

    def feed(n: int) -> None:
        nonlocal fed
        for _ in range(n):
            miner.add(" ".join(rng.sample(words, rng.randrange(3, 12))) + f" after {fed} ms")
            fed += 1

    tracemalloc.start()
    feed(2000)
    before = tracemalloc.take_snapshot()
    feed(4000)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
    found = miner.patterns()
    assert len(found) <= 51
    assert any(p.id == OTHER_ID for p in found)
    assert sum(p.count for p in found) == miner.records == fed
    assert grown < 512 * 1024, f"grew {grown} bytes over 4,000 lines"


def test_a_pattern_reports_counts_times_example_and_domains() -> None:
    miner = _miner()
    miner.add("2024-05-01T10:00:00Z ERROR s: GET https://user:s3cret@shop.test/a failed: 503")
    miner.add("2024-05-01T10:05:00Z ERROR s: GET https://www.other.test/b failed: 502")
    miner.add("2024-05-01T10:06:00Z INFO s: all good")
    miner.add("no time here at all")
    first, second, third = sorted(miner.patterns(), key=lambda p: p.id)[:3]
    assert first.count == 2
    assert first.share == 0.5
    assert first.first_seen == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert first.last_seen == datetime(2024, 5, 1, 10, 5, tzinfo=UTC)
    assert first.domains == ("shop.test", "www.other.test")
    assert "s3cret" not in first.example
    assert "https://user:***@shop.test/a" in first.example
    assert first.is_error
    assert not second.is_error
    assert third.first_seen == datetime.fromtimestamp(1_700_000_000, UTC)  # arrival time


def test_a_given_time_wins_over_the_header() -> None:
    miner = _miner()
    at = datetime(2030, 1, 1, tzinfo=UTC)
    miner.add("2024-05-01T10:00:00Z INFO s: hello", at=at)
    assert miner.patterns()[0].first_seen == at


def test_all_variable_and_empty_messages_keep_one_pattern(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_miner_module, "_CACHE_SIZE", 1)  # no help from the cache
    miner = _miner()
    assert len(set(miner.add_all(["12345", "67890", "1", "12345"]))) == 1
    assert len(set(miner.add_all(["", "   ", ""]))) == 1


def test_a_trace_whose_record_merged_into_other_follows_it() -> None:
    miner = _miner(max_templates=10)
    first = miner.add("2024-05-01 10:00:01 ERROR a: boom", source="s")
    for n in range(12):  # more patterns than the cap, each more frequent than the first
        miner.add_all([f"event{chr(97 + n)} happened"] * 3)
    assert first not in {p.id for p in miner.patterns()}  # folded into "other"
    assert miner.add("\tat com.shop.A.run(A.java:1)", source="s") == OTHER_ID
