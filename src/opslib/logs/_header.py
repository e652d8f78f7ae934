"""The header of a log line (timestamp, level, host, process, component) told from its message.

Two ways: a header regex given by the operator (``logs.header_pattern``, with a ``message``
group and optionally ``time`` and ``level``), or, by default, a scanner that reads leading
fields as long as they look like a header: times and dates in the common spellings, numbers
(pids, epochs), levels, ``-`` and ``|`` separators, host and node names next to them; then one
``component:`` (or ``component -``) a few fields further, as syslog, log4j, Android and most
application logs write it. A line that does not start with a time keeps its whole text.
The kind of a field depends on its shape only (digits read as ``0``), so the scan's decision is
remembered by the shape of the line's first characters: lines of one log mostly reuse a few.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from opslib.errors import ConfigError

__all__ = ["Header", "HeaderParser"]

_MONTHS = frozenset(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
)
_DAYS = frozenset(["mon", "tue", "wed", "thu", "fri", "sat", "sun"])
_ERROR_LEVELS = frozenset(
    {"error", "err", "fatal", "critical", "crit", "severe", "alert", "emerg", "emergency", "panic"}
)
_LEVELS = _ERROR_LEVELS | {
    "trace", "debug", "dbg", "info", "information", "informational", "notice", "warn",
    "warning", "fine", "finer", "finest", "verbose",
}  # fmt: skip
_SHORT_LEVELS = frozenset("VDIWEFC")
_SHORT_ERRORS = frozenset("EFC")
_TIME = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,:]\d+)?(?:Z|[+-]\d{2}:?\d{2})?")
_DATE = re.compile(
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"
    r"(?:[T-]\d{1,2}[:.]\d{2}[:.]\d{2}(?:[.,:]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"|\d{1,2}[-/.]\d{1,2}(?:[-/.]\d{2,4})?"
    r"|\d{6}|\d{8}(?:-\d{1,2}:\d{2}:\d{2}(?:[.,:]\d+)?)?"
)
_STRIP = "[](),|"
_TIME_HINT = re.compile(r"\d:\d\d|\d[\d./-]{5}")  # what _starts_with_time needs (or more)
_MAX_FIELDS = 24  # a header is never longer; the scan stops there
_MAX_BRACKETED = 8  # fields of one bracketed group at most
_HEAD_CHARS = 96  # lines alike in shape this far share their header's decision
_Shape = tuple[int, int, int, int]  # fields of header, first and last time field, level field
_SHAPES: dict[str, _Shape | None] = {}
_SHAPES_SIZE = 4096
_OPEN_GROUP = re.compile(r"(?:^|\s)\[[^\]\s]*\s")  # "[IPC Server", a group with a blank
_COMPONENT_REACH = 3  # fields between the header and its "component:" at most


class Header(NamedTuple):
    """What a line's header says: its time text (unparsed), its level, and the message after."""

    time: str | None
    level: str | None
    message: str

    @property
    def is_error(self) -> bool:
        """The level is error or worse."""
        return self.level is not None and (
            self.level in _SHORT_ERRORS or self.level.lower() in _ERROR_LEVELS
        )


def _kind(field: str) -> str:  # noqa: PLR0911 - one return per kind
    """``t`` time of day, ``d`` date or number, ``l`` level, ``s`` separator, ``h`` host-like
    (a name with a digit), ``c`` component (ends with ``:``), ``w`` a word."""
    core = field.strip(_STRIP)  # the field's shape: every digit is 0
    if not core or field in ("-", "|", "--"):
        return "s"
    if " " in core:  # a bracketed group: [Sun Dec 04 04:47:44 2005], [IPC Server handler 1]
        return "t" if _TIME.search(core) else "h" if "0" in core else "w"
    if field.endswith(":") and len(field) > 1 and _TIME.fullmatch(core[:-1]) is None:
        return "c"
    if core[0].isdigit():
        if core.isdigit() or _DATE.fullmatch(core):
            return "d"
        return "t" if _TIME.fullmatch(core.rstrip(",")) else "h"
    lower = core.lower()
    if lower in _LEVELS or (len(core) == 1 and core in _SHORT_LEVELS):
        return "l"
    if lower in _MONTHS or lower in _DAYS:
        return "d"
    if "(" not in core and "=" not in core and "0" in core:  # digits are 0 in a shape
        return "h"
    return "w"


class HeaderParser:
    """Splits a line into :class:`Header`; ``pattern`` (a regex with a ``message`` group)
    replaces the scanner."""

    def __init__(self, pattern: str | None = None) -> None:
        self._regex: re.Pattern[str] | None = None
        if pattern:
            try:
                self._regex = re.compile(pattern)
            except re.error as exc:
                raise ConfigError(f"logs.header_pattern is not a regex: {exc}") from exc
            if "message" not in self._regex.groupindex:
                raise ConfigError("logs.header_pattern needs a (?P<message>...) group")

    def parse(self, line: str) -> Header:
        """The header of ``line`` (none: the whole line is the message)."""
        if self._regex is not None:
            found = self._regex.match(line)
            if found is None:
                return Header(None, None, line.strip())
            names = self._regex.groupindex
            return Header(
                found["time"] if "time" in names else None,
                found["level"] if "level" in names else None,
                (found["message"] or "").strip(),
            )
        return _scan(line)


_ZEROS = str.maketrans("123456789", "000000000")
_KIND_MEMO: dict[str, str] = {}
_MEMO_SIZE = 20_000


def _kinds(fields: list[str]) -> list[str]:
    """The kind of each field, memoized on its shape (digits as ``0``: the kind depends on the
    shape only, so times and pids hit the memo too)."""
    kinds = []
    memo = _KIND_MEMO
    for field in fields:
        kind = memo.get(field)  # a field without digits is its own shape
        if kind is None:
            shape = field.translate(_ZEROS)
            kind = memo.get(shape)
            if kind is None:
                if len(memo) >= _MEMO_SIZE:
                    memo.clear()
                kind = memo[shape] = _kind(shape)
        kinds.append(kind)
    return kinds


def _time_start(fields: list[str], kinds: list[str]) -> tuple[bool, int]:
    """A header starts with a time: a time of day in the first fields, or a long number or
    date (an epoch, ``081109``, ``2005.06.03``) among the first three; and how many fields
    that took to tell."""
    for index, (field, kind) in enumerate(zip(fields[:6], kinds[:6], strict=False)):
        if kind == "t" or (index < 3 and kind == "d" and len(field) >= 6 and field[0].isdigit()):
            return True, index + 1
    return False, min(6, len(fields))


def _component(fields: list[str], kinds: list[str], end: int, n: int) -> tuple[int, bool, int]:
    """Where the header ends if a component follows at ``end`` within reach: after
    ``name:`` (the last header field), or after ``name -``, ``name |`` or ``name [group]``
    (more header may follow); and how many fields that read."""
    for reach in range(min(_COMPONENT_REACH, n - end)):
        kind = kinds[end + reach]
        if kind == "c":
            return end + reach + 1, True, end + reach + 1
        field = fields[end + reach]
        if reach > 0 and (kind == "s" or (field[0] == "[" and field[-1] == "]")):
            return end + reach + 1, False, end + reach + 1
        if kind in "tdl":
            return end, False, end + reach + 1
    return end, False, min(end + _COMPONENT_REACH, n)


def _bracketed(fields: list[str]) -> tuple[list[str], list[int]]:
    """``fields`` with a bracketed group that holds blanks (``[IPC Server handler 1 on 80]``,
    a thread name) joined into one field, and the count of fields each one is."""
    joined: list[str] = []
    widths: list[int] = []
    i = 0
    while i < len(fields):
        width = 1
        if fields[i].startswith("[") and "]" not in fields[i]:
            last = next(
                (j for j in range(i + 1, min(i + _MAX_BRACKETED, len(fields))) if "]" in fields[j]),
                None,
            )
            if last is not None:
                width = last - i + 1
        joined.append(" ".join(fields[i : i + width]))
        widths.append(width)
        i += width
    return joined, widths


def _scan(line: str) -> Header:
    if _TIME_HINT.search(line, 0, 120) is None:  # no time in reach: no header, no scan
        return Header(None, None, line.strip())
    if "|" in line[:64]:
        line = line.replace("|", " | ")
    key = line[:_HEAD_CHARS].translate(_ZEROS)
    try:
        shape = _SHAPES[key]
    except KeyError:
        shape, examined = _decide(line)
        if examined < _HEAD_CHARS:  # every field the decision read lies in the key
            if len(_SHAPES) >= _SHAPES_SIZE:
                _SHAPES.clear()
            _SHAPES[key] = shape
    if shape is None:
        return Header(None, None, line.strip())
    consumed, first_time, last_time, level_at = shape
    parts = line.split(None, consumed)
    stamp = " ".join(parts[first_time : last_time + 1]).strip(_STRIP) if first_time >= 0 else None
    level = parts[level_at].strip(_STRIP) if level_at >= 0 else None
    return Header(stamp, level, parts[consumed].strip() if len(parts) > consumed else "")


def _decide(line: str) -> tuple[_Shape | None, int]:
    """Where ``line``'s header ends (None: it has none), and how many of its characters the
    decision read (a line whose first that many characters have the same shape is decided
    alike: the kinds of fields depend on their shape only)."""
    parts = line.split(None, _MAX_FIELDS)
    fields = parts[:_MAX_FIELDS]
    if not fields:
        return None, len(line)
    widths = [1] * len(fields)  # blank-separated fields in each field ([IPC Server handler 1])
    if _OPEN_GROUP.search(line, 0, 240):
        fields, widths = _bracketed(fields)
    kinds = _kinds(fields[:6])
    has_time, read = _time_start(fields, kinds)
    if not has_time:
        return None, _read_up_to(line, sum(widths[:read]))
    n = len(fields)
    end = 0  # fields taken as header so far
    times: list[int] = []
    level = -1
    looked = False  # one look for a component, after which only header fields are taken
    while end < n:
        if end + _COMPONENT_REACH >= len(kinds) < n:  # classify fields as the scan needs them
            kinds += _kinds(fields[len(kinds) : end + _COMPONENT_REACH + 4])
        kind = kinds[end]
        read = max(read, end + 1)
        if kind in "tdsl" or (kind == "h" and level < 0 and not looked):
            if kind in "td":
                times.append(end)
            elif kind == "l":
                level = end
            end += 1
            continue
        if looked:
            break
        looked = True
        end, last, reach = _component(fields, kinds, end, n)
        read = max(read, reach)
        if last:
            n = end  # nothing after "component:" is header
    starts = [0]
    for width in widths:
        starts.append(starts[-1] + width)  # the first original field of each field
    shape = (
        starts[end],
        starts[times[0]] if times else -1,
        starts[times[-1] + 1] - 1 if times else -1,
        starts[level] if level >= 0 else -1,
    )
    if len(parts) > _MAX_FIELDS and starts[end] >= _MAX_FIELDS:
        return None, len(line)  # a header of every field read: no message found, no guess
    return shape, _read_up_to(line, starts[read])


def _read_up_to(line: str, fields: int) -> int:
    """How many characters of ``line`` its first ``fields`` fields span (blanks after them
    included)."""
    rest = line.split(None, fields)
    return len(line) - len(rest[fields]) if len(rest) > fields else len(line)
