"""Time conversions shared by the adapters (naive datetimes are taken as UTC)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

__all__ = ["parse_timestamp", "unix_seconds"]

_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)")


def unix_seconds(moment: datetime) -> float:
    """Seconds since the epoch; a naive ``moment`` is read as UTC, not local time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def parse_timestamp(text: str) -> datetime | None:
    """An RFC 3339 timestamp with up to nanoseconds (as Docker writes them), in UTC.

    ``None`` for an empty text, Go's zero time (``0001-01-01...``) or anything unparsable.
    """
    match = _RFC3339.fullmatch(text.strip())
    if match is None or match[1].startswith("0001-01-01"):
        return None
    micros = (match[2] or "")[:6].ljust(6, "0")
    offset = "+00:00" if match[3] == "Z" else match[3]
    return datetime.fromisoformat(f"{match[1]}.{micros}{offset}").astimezone(UTC)
