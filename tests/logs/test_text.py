"""Reading lines in bounded memory; cleaning them; continuation lines."""

from __future__ import annotations

import io

import pytest

from opslib.logs import read_lines
from opslib.logs._text import clean_line, is_continuation


def test_an_over_long_line_is_cut_and_the_rest_dropped() -> None:
    stream = io.BytesIO(b"short\n" + b"x" * 5000 + b"\nafter\nlast-without-newline")
    assert [len(line) for line in read_lines(stream, 1024)] == [6, 1024, 6, 20]


def test_clean_line() -> None:
    assert clean_line(b"caf\xe9\r\n", 100) == "caf\ufffd"
    assert clean_line("a\x00b\x1bc", 100) == "a b c"
    assert clean_line(b"y" * 10_000, 50) == "y" * 50


@pytest.mark.parametrize(
    ("line", "continues"),
    [
        ("\tat com.shop.A.run(A.java:1)", True),
        ("at com.shop.A.run(A.java:1)", True),
        ("Caused by: java.io.IOException: x", True),
        ("Traceback (most recent call last):", True),
        ('  File "x.py", line 1, in f', True),
        ("\t... 12 more", True),
        ("at noon the job ran", False),
        ("2024-05-01 ERROR boom", False),
        ("   ", False),
    ],
)
def test_continuation_lines(line: str, continues: bool) -> None:
    assert is_continuation(line) is continues
