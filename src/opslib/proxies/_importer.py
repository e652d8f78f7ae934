"""Reading proxy lists in the shapes they come in: ``host:port``, URLs, CSV, JSON lines; from a
file or an http(s) URL.

A list is read line by line (a 100 MB file never sits in memory whole); every bad line is
reported with its number and skipped, duplicates are merged (the later line fills in a missing
country).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from opslib.adapters import download
from opslib.config import Timeouts
from opslib.errors import ConfigError, DataError
from opslib.proxies._model import Proxy, parse_proxy_url
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
    """Proxies read from one source, merged by URL, and the lines that were skipped."""

    source: str
    proxies: dict[str, Proxy] = field(default_factory=dict)
    problems: list[LineProblem] = field(default_factory=list)
    bad_lines: int = 0
    duplicates: int = 0

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


_CSV_URL = ("url", "proxy", "address")


def parse_proxy_lines(lines: Iterable[bytes], source: str) -> ImportResult:
    """Parse raw lines (bytes, as read from a file or a response) of one list."""
    result = ImportResult(source)
    header: list[str] | None = None
    for number, raw in enumerate(lines, start=1):
        if len(raw) > MAX_LINE:
            result._problem(number, f"line longer than {MAX_LINE} bytes")
            continue
        try:
            text = raw.decode("utf-8").strip().lstrip("\ufeff")
        except UnicodeDecodeError:
            result._problem(number, "not UTF-8 text")
            continue
        if not text or text.startswith("#"):
            continue
        if header is None and _looks_like_header(text):
            header = [c.strip().lower() for c in next(csv.reader([text]))]
            continue
        try:
            result._add(_parse_line(text, header, source))
        except DataError as exc:
            result._problem(number, str(exc))
    return result


def _looks_like_header(text: str) -> bool:
    cells = {c.strip().lower() for c in text.split(",")}
    return bool(cells & {*_CSV_URL, "host"}) and ("," in text)


def _parse_line(text: str, header: list[str] | None, source: str) -> Proxy:
    if text.startswith("{"):
        return _from_json(text, source)
    if header is not None:
        return _from_csv(text, header, source)
    if "," in text:  # url,country without a header
        first, _, rest = text.partition(",")
        return parse_proxy_url(first, country=rest.strip() or None, source=source)
    return parse_proxy_url(text, source=source)


def _from_json(text: str, source: str) -> Proxy:
    try:
        item = json.loads(text)
    except json.JSONDecodeError:
        raise DataError("invalid JSON") from None
    if not isinstance(item, dict):
        raise DataError("a JSON line must be an object")
    address = item.get("url") or item.get("proxy")
    if not address and item.get("host"):
        address = f"{item.get('scheme', 'http')}://{item['host']}:{item.get('port', '')}"
    if not isinstance(address, str):
        raise DataError("no url (or host and port) in the JSON object")
    if item.get("username") and "@" not in address:
        user, password = str(item["username"]), str(item.get("password", ""))
        scheme, _, rest = address.partition("://") if "://" in address else ("http", "", address)
        address = f"{scheme}://{user}:{password}@{rest}"
    country = item.get("country")
    tags = item.get("tags") or ()
    if not isinstance(tags, list | tuple) or not all(isinstance(t, str) for t in tags):
        raise DataError("tags must be a list of strings")
    return parse_proxy_url(
        address, country=str(country) if country else None, source=source, tags=tuple(tags)
    )


def _from_csv(text: str, header: list[str], source: str) -> Proxy:
    row = next(csv.reader([text]))
    if len(row) != len(header):
        raise DataError(f"{len(row)} columns, the header has {len(header)}")
    cells = dict(zip(header, (c.strip() for c in row), strict=True))
    address = next((cells[k] for k in _CSV_URL if cells.get(k)), "")
    if not address and cells.get("host"):
        address = f"{cells.get('scheme') or 'http'}://{cells['host']}:{cells.get('port', '')}"
        if cells.get("username"):
            scheme, _, rest = address.partition("://")
            address = f"{scheme}://{cells['username']}:{cells.get('password', '')}@{rest}"
    tags = tuple(t for t in cells.get("tags", "").split(";") if t)
    return parse_proxy_url(address, country=cells.get("country") or None, source=source, tags=tags)


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
    try:
        with Path(source).open("rb") as fh:
            return parse_proxy_lines(read_lines(iter(lambda: fh.read(_CHUNK), b"")), name)
    except OSError as exc:
        raise DataError(f"cannot read {source}: {exc.strerror}") from exc
