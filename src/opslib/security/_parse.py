"""Reading access logs: the common and combined formats and JSON lines, streamed in chunks.

Lines become tuples ``(ip, user, minute, second, zone, method, path, status, agent)`` of bytes,
as one regular expression over a whole chunk finds them (the per-line work stays in C); a JSON
line is turned into the same tuple. Lines that are neither (garbage, a line over
:data:`MAX_LINE` bytes) are counted, never fatal; bytes that are not UTF-8 stay bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import IO, Any

__all__ = ["MAX_LINE", "Record", "iter_chunks", "json_record", "parse_chunk"]

MAX_LINE = 64 * 1024
"""A longer line is skipped (and counted): no access log line is that long."""
CHUNK = 4 * 1024 * 1024

Record = tuple[bytes, bytes, bytes, bytes, bytes, bytes, bytes, bytes, bytes]
"""(ip, user, minute ``dd/Mon/yyyy:HH:MM``, second, zone ``+0000``, method, path, status, agent)"""

# host ident user [dd/Mon/yyyy:HH:MM:SS zone] "METHOD path PROTO" status size ["ref" "agent"]
_CLF = re.compile(
    rb"^([0-9A-Fa-f:.]{2,45}) \S{1,256} (\S{1,256}) "
    rb"\[(\d\d/[A-Za-z]{3}/\d{4}:\d\d:\d\d):(\d\d)(?: ?([+-]\d{4}))?\] "
    rb'"(?:([A-Z]{1,16}) ([^" \n]{0,8192})(?: [^"\n]{0,64})?|[^"\n]{0,8192})" '
    rb"(\d{3}) (?:\d+|-)"
    rb'(?: "(?:[^"\n\\]|\\.){0,4096}" "((?:[^"\n\\]|\\.){0,1024})")?[^\n]{0,4096}$',
    re.MULTILINE,
)
_ZONE = b"+0000"
_IP_KEYS = ("remote_addr", "client_ip", "ip", "remote_ip", "client", "clientip", "host")
_PATH_KEYS = ("path", "uri", "request_uri", "url")
_AGENT_KEYS = ("user_agent", "http_user_agent", "agent", "ua")
_KEY_KEYS = ("api_key", "key", "key_fingerprint", "remote_user", "user")
_TIME_KEYS = ("time", "timestamp", "@timestamp", "time_local", "ts")


def parse_chunk(chunk: bytes) -> tuple[list[Record], int]:
    """The records of the whole lines in ``chunk`` and how many lines it holds."""
    lines = chunk.count(b"\n") + (0 if chunk.endswith(b"\n") or not chunk else 1)
    found: list[Record] = _CLF.findall(chunk)
    if len(found) < lines and b"{" in chunk:
        found += _json_lines(chunk)
    return found, lines


def _json_lines(chunk: bytes) -> list[Record]:
    records = []
    for line in chunk.splitlines():
        if line.lstrip().startswith(b"{"):
            record = json_record(line)
            if record is not None:
                records.append(record)
    return records


def _first(data: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = data.get(key)
        if value not in (None, "", "-"):
            return value
    return None


def _clf_time(value: Any) -> tuple[bytes, bytes, bytes] | None:
    when: datetime
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value
        when = datetime.fromtimestamp(seconds, UTC)
    elif isinstance(value, str):
        text = value.strip()
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            try:
                when = datetime.strptime(text.strip("[]"), "%d/%b/%Y:%H:%M:%S %z")
            except ValueError:
                return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
    else:
        return None
    when = when.astimezone(UTC)
    return when.strftime("%d/%b/%Y:%H:%M").encode(), b"%02d" % when.second, _ZONE


def json_record(line: bytes) -> Record | None:
    """One JSON access log line as a record, or None when it is not one."""
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    ip, status, when = (
        _first(data, _IP_KEYS),
        data.get("status"),
        _clf_time(_first(data, _TIME_KEYS)),
    )
    if not isinstance(ip, str) or when is None:
        return None
    try:
        code = int(str(status))
    except ValueError:
        return None
    method = data.get("method") or data.get("request_method") or ""
    path = _first(data, _PATH_KEYS)
    request = data.get("request")
    if path is None and isinstance(request, str):
        parts = request.split(" ")
        method, path = (parts[0], parts[1]) if len(parts) >= 2 else (method, request)
    agent = _first(data, _AGENT_KEYS)
    key = _first(data, _KEY_KEYS)
    return (
        ip.encode(),
        str(key).encode() if key is not None else b"-",
        *when[:2],
        when[2],
        str(method).encode(),
        str(path or "").encode(),
        b"%03d" % code if 0 <= code <= 999 else b"000",
        str(agent or "").encode(),
    )


def iter_chunks(stream: IO[bytes], size: int = CHUNK) -> Iterator[bytes]:
    """Whole lines of ``stream`` in chunks of about ``size`` bytes; a line over
    :data:`MAX_LINE` is replaced by an empty line (so it is counted, not parsed)."""
    pending = b""
    while True:
        block = stream.read(size)
        if not block:
            break
        cut = block.rfind(b"\n")
        if cut < 0:
            data = pending + block
            pending = data if len(data) <= MAX_LINE else b"\x00"  # a marker: skip to the end
            continue
        # one copy: the block's whole lines are appended to the pending line through a view
        body = pending + memoryview(block)[: cut + 1]
        pending = block[cut + 1 :]
        yield body
        if len(pending) > MAX_LINE:
            pending = b"\x00"
    if pending:
        yield pending + b"\n"


def records_from_lines(lines: Iterable[str]) -> Iterator[tuple[list[Record], int]]:
    """Records of text lines (container logs), a thousand at a time."""
    batch: list[str] = []
    for line in lines:
        batch.append(line.rstrip("\n"))
        if len(batch) >= 1000:
            yield parse_chunk("\n".join(batch).encode("utf-8", "surrogateescape") + b"\n")
            batch = []
    if batch:
        yield parse_chunk("\n".join(batch).encode("utf-8", "surrogateescape") + b"\n")
