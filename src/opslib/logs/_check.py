"""emergency.high_error_rate, part 2: the scrapers' error patterns (the runbook's
``docker-compose logs scraper | grep ERROR | sort | uniq -c``), each with its likely cause.

Lines come from the service's containers through the platform adapter, or from the files in
``logs.files`` (a platform without Docker, logs shipped to files), limited to the window.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from opslib.adapters import LogLine
from opslib.config import Settings
from opslib.errors import InputError
from opslib.health import action_for, classify_error
from opslib.logs._baseline import load_baseline, new_patterns
from opslib.logs._header import HeaderParser
from opslib.logs._miner import Pattern, PatternMiner
from opslib.logs._text import clean_line, read_lines
from opslib.logs._time import parse_log_time
from opslib.results import CheckResult, Measurement, Table

__all__ = ["LogStreams", "error_patterns", "recent_log_lines"]

SOP = "emergency.high_error_rate"
_TOP = 5
_LINE_LIMIT = 1 << 20


class LogStreams(Protocol):
    """What reading a service's logs needs of :class:`opslib.adapters.Platform`."""

    def stream_logs(self, service: str, since: datetime) -> Iterator[LogLine]: ...


def recent_log_lines(
    settings: Settings, platform: LogStreams | None, since: datetime
) -> Iterator[LogLine]:
    """The scraper service's log lines since ``since``: from ``logs.files`` when set (the last
    ``logs.tail_bytes`` of each, lines with an older time skipped), else from ``platform``."""
    if settings.logs.files:
        if not any(path.exists() for path in settings.logs.files):
            shown = ", ".join(str(p) for p in settings.logs.files[:3])
            raise InputError(f"none of logs.files exists ({shown}): is it the scrapers' log?")
        for path in settings.logs.files:
            yield from _file_lines(path, settings, since)
        return
    if platform is None:
        raise InputError("no log source: set logs.files, or reach the platform's Docker engine")
    yield from platform.stream_logs(settings.scraper_service, since)


def _file_lines(path: Path, settings: Settings, since: datetime) -> Iterator[LogLine]:
    parse = HeaderParser(settings.logs.header_pattern).parse
    try:
        stream = path.open("rb")
    except FileNotFoundError:
        return  # a replica that has not logged yet
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    with stream:
        size = os.fstat(stream.fileno()).st_size
        if size > settings.logs.tail_bytes:
            stream.seek(size - settings.logs.tail_bytes)
            stream.readline()  # the first line is cut: start at the next one
        year = datetime.now(UTC).year
        for raw in read_lines(stream, _LINE_LIMIT):
            text = clean_line(raw, settings.logs.max_line_chars)
            stamp = parse(text).time
            at = parse_log_time(stamp, year) if stamp is not None else None
            if at is not None and at < since:
                continue
            yield LogLine(path.name, at, text)


def error_patterns(
    lines: Iterable[LogLine],
    settings: Settings,
    *,
    now: datetime | None = None,
    baseline: Sequence[str] | None = None,
    what: str = "",
) -> CheckResult:
    """The error patterns of the last ``error_window`` of ``lines`` (a line without a time
    counts as recent), and those never seen before, judged by ``logs.new_error_patterns``.

    "Before" is ``baseline`` (templates), else the stored ``logs.baseline_file`` if it exists,
    else the window before the last one among ``lines`` (so read two windows: see
    :func:`recent_log_lines`). The top error patterns are shown with their likely cause; the
    remediation is the runbook's action for each.
    """
    title = f"error patterns in the logs{f' of {what}' if what else ''}"
    span = settings.error_window_span
    start = (now or datetime.now(UTC)) - span
    miner, earlier = PatternMiner(settings.logs), PatternMiner(settings.logs)
    for line in lines:
        into = earlier if line.at is not None and line.at < start else miner
        into.add(line.text, source=line.container, at=line.at)
    if miner.records == 0:  # a scraper that logs only its failures has nothing to say
        quiet = Measurement(
            "error_records", 0, note=f"no log line in the last {settings.error_window}"
        )
        return CheckResult(SOP, title, (quiet,))
    errors = [p for p in miner.patterns() if p.is_error]
    known, compared = _before(settings, baseline, earlier)
    top = errors[:_TOP]
    summary = f"{len(errors)} error pattern(s) in {miner.records} records"
    if top:
        summary += f"; top: {_describe(top[0])}"
    measurements = [
        Measurement(
            "error_records",
            sum(p.count for p in errors),
            note=summary + ("" if known is not None else f"; new ones not judged: {compared}"),
        )
    ]
    rows = [_row(p, fresh=False) for p in top]
    fresh: list[Pattern] = []
    if known is not None:
        fresh = new_patterns(errors, known)
        measurements.append(
            Measurement(
                "new_error_patterns",
                len(fresh),
                settings.threshold("logs.new_error_patterns"),
                note=f"against {compared}" + "".join(f"; {_describe(p)}" for p in fresh[:3]),
            )
        )
        rows += [_row(p, fresh=True) for p in fresh[:_TOP] if p not in top]
    return CheckResult(
        SOP,
        title,
        tuple(measurements),
        remediation=_actions([*fresh[:_TOP], *top]),
        tables=(
            Table(
                ("pattern", "count", "share", "likely cause", "domains", "new", "example"),
                tuple(rows),
                "top error patterns",
            ),
        ),
    )


def _before(
    settings: Settings, baseline: Sequence[str] | None, earlier: PatternMiner
) -> tuple[Sequence[str] | None, str]:
    """The templates to call a pattern new against, and what they are (or why there are none)."""
    if baseline is not None:
        return baseline, "the given baseline"
    path = settings.logs.baseline_file
    if path.is_file():
        return load_baseline(path), f"the baseline {path}"
    if earlier.records:
        return [p.template for p in earlier.patterns()], f"the {settings.error_window} before"
    return None, (
        f"no baseline file ({path}: `opslib logs patterns --save-baseline` on a good day) and"
        f" no log lines in the {settings.error_window} before"
    )


def _describe(p: Pattern) -> str:
    return f"{p.template!r} x{p.count} ({classify_error(p.template).value})"


def _row(p: Pattern, *, fresh: bool) -> tuple[str, ...]:
    return (
        p.template,
        str(p.count),
        f"{p.share:.1%}",
        classify_error(p.template).value,
        ", ".join(p.domains[:3]) or "-",
        "yes" if fresh else "-",
        p.example,
    )


def _actions(top: Sequence[Pattern]) -> str:
    actions: dict[str, None] = {}
    for p in top:
        action = action_for(classify_error(p.template), p.domains[0] if p.domains else "DOMAIN")
        actions.setdefault(f"{p.template!r}: {action}", None)
    return "; ".join(actions)
