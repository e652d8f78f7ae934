"""Input lines made safe to mine (decoded, bounded, printable) and continuation lines told
apart from the start of a record (stack traces)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO

__all__ = ["clean_line", "is_continuation", "read_lines", "traceback_end"]

_CONTROL = dict.fromkeys((*range(0, 9), *range(10, 32), 127), " ")
_CONTINUATION = (
    " ",
    "\t",
    "Traceback (most recent call last)",
    "Caused by:",
    "During handling of the above exception",
    "The above exception was the direct cause",
    "... ",
)
_JAVA_FRAME = re.compile(r"at [\w$.<>/]+\(")
_EXCEPTION = re.compile(r"[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning)\b")


def clean_line(line: str | bytes, limit: int) -> str:
    """``line`` as text of at most ``limit`` characters: bytes decoded as UTF-8 (bad bytes
    replaced), the line end dropped, control characters (NUL, ESC ...) turned to blanks."""
    if isinstance(line, bytes | bytearray):
        line = bytes(line[: limit * 4]).decode("utf-8", "replace")
    text = line[:limit].rstrip("\r\n")
    if not text.isprintable():
        text = text.translate(_CONTROL)
    return text


def is_continuation(line: str) -> bool:
    """The line continues the record before it: indented, a Java frame (``at x.y(...)``),
    ``Caused by:``, a Python ``Traceback`` or ``... 12 more``."""
    if line.startswith(_CONTINUATION):
        return bool(line.strip())
    return line.startswith("at ") and _JAVA_FRAME.match(line) is not None


def traceback_end(line: str) -> bool:
    """An exception's name starting the line (``ValueError: ...``, ``java.io.IOException:``):
    the last line of a Python traceback, the first of a Java one, written unindented."""
    return _EXCEPTION.match(line) is not None


def read_lines(stream: IO[bytes], limit: int) -> Iterator[bytes]:
    """The lines of a binary ``stream``; a line longer than ``limit`` bytes is cut there (the
    rest is read and dropped, never held), so one endless line cannot fill memory."""
    while True:
        chunk = stream.readline(limit)
        if not chunk:
            return
        if not chunk.endswith(b"\n") and len(chunk) >= limit:
            while True:  # skip the rest of an over-long line
                rest = stream.readline(limit)
                if not rest or rest.endswith(b"\n"):
                    break
        yield chunk
