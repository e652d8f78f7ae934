"""Header times in the spellings logs use."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opslib.logs import parse_log_time

CASES = [
    ("2024-05-01T10:00:00.123+02:00", datetime(2024, 5, 1, 8, 0, 0, 123000, UTC)),
    ("2015-10-18 18:01:47,978", datetime(2015, 10, 18, 18, 1, 47, 978000, UTC)),
    ("Sun Dec 04 04:47:44 2005", datetime(2005, 12, 4, 4, 47, 44, tzinfo=UTC)),
    ("Jun 14 15:16:01", datetime(2020, 6, 14, 15, 16, 1, tzinfo=UTC)),
    ("081109 203615 148", datetime(2008, 11, 9, 20, 36, 15, tzinfo=UTC)),
    ("20171223-22:15:29:606", datetime(2017, 12, 23, 22, 15, 29, 606000, UTC)),
    ("1117838570", datetime(2005, 6, 3, 22, 42, 50, tzinfo=UTC)),
    ("03-17 16:13:38.811", datetime(2020, 3, 17, 16, 13, 38, 811000, UTC)),
]


@pytest.mark.parametrize(("text", "moment"), CASES, ids=[c[0] for c in CASES])
def test_parse_log_time(text: str, moment: datetime) -> None:
    assert parse_log_time(text, 2020) == moment


@pytest.mark.parametrize("text", ["", "no time", "134681", "2024-13-45 99:99:99"])
def test_no_time(text: str) -> None:
    assert parse_log_time(text, 2020) is None
