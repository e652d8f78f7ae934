"""Where the analysis reads from: files, stdin, a service's container logs, a PostgreSQL log."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Protocol

from opslib.adapters import LogLine
from opslib.config import SecuritySettings, Settings
from opslib.errors import InputError
from opslib.security._analysis import Analysis, Policy, epoch_minute
from opslib.security._blocklist import parse_duration
from opslib.security._fast import FastAnalyzer
from opslib.security._parse import iter_chunks, parse_chunk
from opslib.security._ranges import address_key

__all__ = [
    "LogSource",
    "analyze_security_logs",
    "db_auth_failures",
    "policy_for",
    "policy_of",
    "recent_analysis",
]

_DB_FAIL = re.compile(
    rb"(?:password authentication failed|authentication failed|no pg_hba\.conf entry)"
)
_DB_HOST = re.compile(
    rb"(?<![0-9A-Za-z.:])((?:\d{1,3}\.){3}\d{1,3}|[0-9a-fA-F]{0,4}:[0-9a-fA-F:.]+)"
)


class LogSource(Protocol):
    """What streams a service's container logs (:class:`opslib.adapters.Platform`)."""

    def stream_logs(self, service: str, since: datetime) -> Iterator[LogLine]: ...


def policy_of(settings: SecuritySettings, thresholds: tuple[float, float]) -> Policy:
    """The suspect policy: the warn limits of ``security.request_rate`` and
    ``security.auth_failures`` (``thresholds``) and the settings."""
    return Policy(
        rate=thresholds[0],
        auth_per_minute=thresholds[1],
        min_requests=settings.min_requests,
        burst_factor=settings.burst_factor,
        burst_min=settings.burst_min,
        block_for=settings.default_block,
    )


def policy_for(settings: Settings) -> Policy:
    """The suspect policy of ``settings``: the warn limits of the ``security.*`` thresholds."""
    return policy_of(
        settings.security,
        (
            settings.threshold("security.request_rate").warn or 5.0,
            settings.threshold("security.auth_failures").warn or 2.0,
        ),
    )


def recent_analysis(settings: Settings, *, now: datetime | None = None) -> Analysis:
    """The configured access logs (``security.access_logs``) over ``security.window``."""
    return analyze_security_logs(
        settings.security, policy_for(settings), files=settings.security.access_logs, now=now
    )


def db_auth_failures(lines: Iterable[bytes]) -> dict[str, int]:
    """Authentication failures per client address in PostgreSQL log lines (the address comes
    from ``log_line_prefix``'s ``%h``/``%r`` or ``log_connections``' ``host=``)."""
    found: dict[str, int] = {}
    for line in lines:
        if _DB_FAIL.search(line):
            for candidate in _DB_HOST.findall(line):
                ip = candidate.decode("ascii", "replace")
                if address_key(ip) is not None:
                    found[ip] = found.get(ip, 0) + 1
                    break
    return found


_PROBE = 64 * 1024
_MARGIN = 4 * 1024 * 1024  # read this much before the found offset: logs are nearly ordered


def _first_minute(fh: IO[bytes], offset: int) -> int | None:
    """The minute of the first record after the line break at or after ``offset``."""
    fh.seek(offset)
    data = fh.read(_PROBE)
    if offset:
        data = data[data.find(b"\n") + 1 :]
    records, _lines = parse_chunk(data[: data.rfind(b"\n") + 1])
    for record in records:
        minute = epoch_minute(record[2], record[4])
        if minute is not None:
            return minute
    return None


def window_start(fh: IO[bytes], since_minute: int) -> int:
    """An offset of a time-ordered log file from which every record of ``since_minute`` and
    later follows (bisection on the records' times, less a margin); 0 when it cannot tell."""
    try:
        size = fh.seek(0, 2)
    except OSError:
        return 0
    low, high = 0, size
    if size <= 2 * _MARGIN:
        return 0
    while high - low > _PROBE:
        mid = (low + high) // 2
        minute = _first_minute(fh, mid)
        if minute is None:
            return 0  # not a format whose times we can read: read it all
        if minute < since_minute:
            low = mid
        else:
            high = mid
    found = max(0, low - _MARGIN)
    if found:  # start at a line boundary
        fh.seek(found)
        found += len(fh.readline())
    return found


def _open(source: str | Path) -> IO[bytes]:
    path = Path(source)
    try:
        if path.is_dir():
            raise InputError(f"{path}: a directory, not a log file")
        return path.open("rb")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None


def analyze_security_logs(
    settings: SecuritySettings,
    policy: Policy,
    *,
    files: Sequence[str | Path] = (),
    streams: Sequence[tuple[str, IO[bytes]]] = (),
    platform: LogSource | None = None,
    since: str | timedelta | None = None,
    now: datetime | None = None,
) -> Analysis:
    """Analyse access logs: ``files``, open binary ``streams`` (name, stream; stdin), and with
    a ``platform`` the container logs of ``settings.service``; with none given,
    ``settings.access_logs``. Only records within ``since`` (default ``settings.window``)
    before ``now`` count. PostgreSQL authentication failures come from ``settings.db_log``."""
    length = parse_duration(since) if isinstance(since, str) else since
    if length is None:
        length = parse_duration(settings.window)
    end = now or datetime.now(UTC)
    start = end - length
    analyzer = FastAnalyzer(
        since_minute=int(start.timestamp()) // 60,
        max_clients=settings.max_clients,
        blocked_status=settings.blocked_status,
    )
    names: list[str] = []
    notes: list[str] = []
    paths = list(files) if files or streams or platform else list(settings.access_logs)
    for name, stream in streams:
        names.append(name)
        for chunk in iter_chunks(stream, analyzer.chunk_size):
            analyzer.feed_chunk(chunk)
    for path in paths:
        names.append(str(path))
        with _open(path) as fh:
            fh.seek(window_start(fh, int(start.timestamp()) // 60))
            for chunk in iter_chunks(fh, analyzer.chunk_size):
                analyzer.feed_chunk(chunk)
    if platform is not None:
        names.append(f"container logs of {settings.service}")
        batch: list[bytes] = []
        for line in platform.stream_logs(settings.service, start):
            batch.append(line.text.encode("utf-8", "surrogateescape"))
            if len(batch) >= 2000:
                analyzer.feed_chunk(b"\n".join(batch) + b"\n")
                batch = []
        if batch:
            analyzer.feed_chunk(b"\n".join(batch) + b"\n")
    if settings.db_log is not None:
        try:
            with settings.db_log.open("rb") as fh:
                analyzer.add_db_failures(db_auth_failures(fh))
            names.append(str(settings.db_log))
        except OSError as exc:
            notes.append(f"database log {settings.db_log} not read: {exc.strerror or exc}")
    if not names:
        notes.append("no access log given (security.access_logs, LOG arguments or --service)")
    return analyzer.result(policy, names, notes)
