"""Timestamp conversions shared by the adapters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from opslib.adapters._time import parse_timestamp, unix_seconds


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T12:30:45.123456789Z", datetime(2024, 5, 1, 12, 30, 45, 123456, tzinfo=UTC)),
        ("2024-05-01T12:30:45Z", datetime(2024, 5, 1, 12, 30, 45, tzinfo=UTC)),
        ("2024-05-01T14:30:45.5+02:00", datetime(2024, 5, 1, 12, 30, 45, 500000, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", None),
        ("", None),
        ("yesterday", None),
    ],
    ids=["nanoseconds", "whole-seconds", "offset", "go-zero-time", "empty", "garbage"],
)
def test_parse_timestamp(text: str, expected: datetime | None) -> None:
    assert parse_timestamp(text) == expected


def test_unix_seconds_reads_naive_as_utc() -> None:
    aware = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert unix_seconds(aware.replace(tzinfo=None)) == aware.timestamp()
    assert unix_seconds(aware.astimezone(timezone(timedelta(hours=-5)))) == aware.timestamp()
