"""Reading proxy lists as they are published (free lists, checker output, provider CSV and JSON
exports: the shapes are in :mod:`opslib.proxies._lines`); from a regular file or an http(s) URL.

A list is read line by line (a 100 MB file never sits in memory whole); a line that is no proxy
(prose, a comment, a header) is skipped and counted, a proxy that is broken is reported with its
line number; duplicates are merged (the later line fills in a missing country). A file that
cannot be read (missing, a directory, a FIFO) is an :class:`InputError` (exit 2).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from urllib.parse import urlsplit

from opslib.adapters import download
from opslib.config import Timeouts
from opslib.errors import ConfigError, DataError, InputError
from opslib.proxies._lines import parse_header, parse_line
from opslib.proxies._model import Proxy
from opslib.redact import redact

__all__ = [
    "ImportResult",
    "LineProblem",
    "list_source_name",
    "parse_proxy_lines",
    "read_lines",
    "read_proxy_list",
]

MAX_LINE = 4096
MAX_PROBLEMS = 1000
_CHUNK = 1 << 16
_URL_PREFIXES = ("http://", "https://")


@dataclass(frozen=True)
class LineProblem:
    """A line of ``source`` that was skipped, and why (never echoing a password)."""

    line: int
    problem: str
    source: str = ""

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.problem}"


@dataclass
class ImportResult:
    """Proxies read from one source, merged by URL; the broken lines (``problems``, counted in
    ``bad_lines``) and the lines that are no proxy (``skipped``)."""

    source: str
    proxies: dict[str, Proxy] = field(default_factory=dict)
    problems: list[LineProblem] = field(default_factory=list)
    bad_lines: int = 0
    duplicates: int = 0
    skipped: int = 0
    """Lines that are no proxy (prose, comments, headers): skipped quietly, counted here."""

    def _problem(self, line: int, problem: str) -> None:
        self.bad_lines += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(LineProblem(line, problem, self.source))

    def _add(self, proxy: Proxy) -> None:
        known = self.proxies.get(proxy.url)
        if known is not None:
            self.duplicates += 1
            if proxy.country is None and known.country is not None:
                proxy = proxy.model_copy(update={"country": known.country})
        self.proxies[proxy.url] = proxy


def parse_proxy_lines(lines: Iterable[bytes], source: str) -> ImportResult:
    """Parse raw lines (bytes, as read from a file or a response) of one list: proxies are
    kept, lines that are no proxy (prose, comments, headers) counted in ``skipped``, broken
    proxies reported (shapes: :mod:`opslib.proxies._lines`)."""
    result = ImportResult(source)
    header: list[str] | None = None
    for number, raw in enumerate(lines, start=1):
        if len(raw) > MAX_LINE:
            result._problem(number, f"line longer than {MAX_LINE} bytes")
            continue
        try:
            text = raw.decode("utf-8").lstrip("\ufeff").strip()
        except UnicodeDecodeError:
            result._problem(number, "not UTF-8 text")
            continue
        if not text:
            continue
        if header is None and (found := parse_header(text)) is not None:
            header = found
            result.skipped += 1
            continue
        try:
            proxy = parse_line(text, header, source)
        except DataError as exc:
            result._problem(number, str(exc))
            continue
        if proxy is None:
            result.skipped += 1
        else:
            result._add(proxy)
    return result


def read_lines(stream: Iterable[bytes]) -> Iterator[bytes]:
    """Lines of a byte stream; a line longer than MAX_LINE comes out cut at MAX_LINE + 1 bytes
    (so it is reported, and costs no memory)."""
    buffer = b""
    skipping = False
    for chunk in stream:
        buffer += chunk
        while (end := buffer.find(b"\n")) >= 0:
            line, buffer = buffer[:end], buffer[end + 1 :]
            if skipping:
                skipping = False
                continue
            yield line
        if len(buffer) > MAX_LINE:
            if not skipping:
                yield buffer[: MAX_LINE + 1]
                skipping = True
            buffer = b""
    if buffer and not skipping:
        yield buffer


def list_source_name(source: str) -> str:
    """The name a list's proxies are filed under: a file's name, or a URL's last path segment
    (its host when it has no path); never the URL's credentials or query."""
    if source.startswith(_URL_PREFIXES):
        try:
            parts = urlsplit(source)
        except ValueError as exc:
            raise ConfigError(f"bad URL {redact(source)}: {exc}") from None
        return PurePosixPath(parts.path).name or parts.netloc.rpartition("@")[2]
    return Path(source).name or source


def read_proxy_list(source: str, timeouts: Timeouts | None = None) -> ImportResult:
    """Read and parse one list: a file path, or an http(s) URL downloaded within ``timeouts``
    (streamed and size-bounded; credentials in the URL never appear in a message)."""
    name = list_source_name(source)
    if source.startswith(_URL_PREFIXES):
        limits = timeouts if timeouts is not None else Timeouts()
        with download(source, connect_timeout=limits.connect, read_timeout=limits.http) as chunks:
            return parse_proxy_lines(read_lines(chunks), name)
    with _open_regular(source) as fh:
        try:
            return parse_proxy_lines(read_lines(iter(lambda: fh.read(_CHUNK), b"")), name)
        except OSError as exc:
            raise InputError(f"cannot read {source}: {exc.strerror or exc}") from exc


def _open_regular(path: str) -> BinaryIO:
    """``path`` opened for reading if it is a regular file; never blocks (a FIFO without a
    writer, a device) and never follows into a directory."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
        raise InputError(f"cannot read {path}: {kind}")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")
