"""The time in a log line's header, in the spellings logs use, as an aware datetime (UTC)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

__all__ = ["parse_log_time"]

_MONTHS = {
    m: n
    for n, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
_ISO = re.compile(
    r"(?P<y>\d{4})[-/.](?P<mo>\d{1,2})[-/.](?P<d>\d{1,2})[T\s-]+(?P<h>\d{1,2})[:.](?P<mi>\d{2})"
    r"[:.](?P<s>\d{2})(?:[.,:](?P<f>\d+))?\s*(?P<z>Z|[+-]\d{2}:?\d{2})?"
)
_NAMED = re.compile(
    r"(?P<mo>[A-Za-z]{3})[a-z]*\s+(?P<d>\d{1,2}),?\s+(?:(?P<y1>\d{4})\s+)?(?P<h>\d{1,2}):(?P<mi>\d{2})"
    r":(?P<s>\d{2})(?:[.,](?P<f>\d+))?(?:\s+(?P<y2>\d{4}))?"
)
_COMPACT = re.compile(
    r"(?P<y>\d{2}|\d{4})(?P<mo>\d{2})(?P<d>\d{2})[\s-](?P<h>\d{2}):?(?P<mi>\d{2}):?(?P<s>\d{2})"
    r"(?:[.,:](?P<f>\d+))?"
)
_SHORT = re.compile(
    r"(?P<a>\d{1,2})[-/.](?P<b>\d{1,2})(?:[-/.](?P<y>\d{2,4}))?\s+(?P<h>\d{1,2}):(?P<mi>\d{2})"
    r"(?::(?P<s>\d{2}))?(?:[.,:](?P<f>\d+))?"
)
_EPOCH = re.compile(r"(?<!\d)(?P<e>1\d{9})(?:\.(?P<f>\d+))?(?!\d)")


def parse_log_time(text: str, year: int) -> datetime | None:
    """The moment ``text`` (a header's time) names, or None; ``year`` fills a missing year
    (syslog); a time without a zone is taken as UTC."""
    try:
        return _parse(text, year)
    except (ValueError, OverflowError):
        return None


def _fraction(digits: str | None) -> int:
    return int((digits or "0")[:6].ljust(6, "0"))


def _parse(text: str, year: int) -> datetime | None:
    if found := _ISO.search(text):
        zone = found["z"]
        moment = datetime(
            int(found["y"]), int(found["mo"]), int(found["d"]), int(found["h"]),
            int(found["mi"]), int(found["s"]), _fraction(found["f"]), tzinfo=UTC,
        )  # fmt: skip
        if zone and zone != "Z":
            sign = 1 if zone[0] == "+" else -1
            digits = zone[1:].replace(":", "")
            moment = moment.replace(tzinfo=None)
            offset = sign * (int(digits[:2]) * 60 + int(digits[2:]))
            moment = datetime.fromtimestamp(
                moment.replace(tzinfo=UTC).timestamp() - offset * 60, UTC
            )
        return moment
    if (found := _NAMED.search(text)) and found["mo"].lower() in _MONTHS:
        given = found["y1"] or found["y2"]
        return datetime(
            int(given) if given else year, _MONTHS[found["mo"].lower()], int(found["d"]),
            int(found["h"]), int(found["mi"]), int(found["s"]), _fraction(found["f"]), tzinfo=UTC,
        )  # fmt: skip
    if found := _COMPACT.search(text):
        y = int(found["y"])
        return datetime(
            y + 2000 if y < 100 else y, int(found["mo"]), int(found["d"]), int(found["h"]),
            int(found["mi"]), int(found["s"]), _fraction(found["f"]), tzinfo=UTC,
        )  # fmt: skip
    if found := _EPOCH.search(text):
        return datetime.fromtimestamp(int(found["e"]) + _fraction(found["f"]) / 1e6, UTC)
    if found := _SHORT.search(text):
        given = found["y"]
        y = int(given) if given else year
        a, b = int(found["a"]), int(found["b"])
        month, day = (a, b) if a <= 12 else (b, a)
        return datetime(
            y + 2000 if y < 100 else y, month, day, int(found["h"]), int(found["mi"]),
            int(found["s"] or 0), _fraction(found["f"]), tzinfo=UTC,
        )  # fmt: skip
    return None
