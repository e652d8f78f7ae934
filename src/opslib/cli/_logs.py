"""``opslib logs patterns``: the message templates of a service's logs, a file or stdin."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import click

from opslib.cli._context import AppContext, pass_app
from opslib.connect import open_platform
from opslib.errors import InputError
from opslib.logs import (
    Pattern,
    PatternMiner,
    load_baseline,
    new_patterns,
    read_lines,
    save_baseline,
)
from opslib.notify import parse_duration

__all__ = ["logs"]

_READ_LIMIT = 1 << 20  # bytes of one line read from a file; the rest of a longer line is dropped


def _since(_ctx: click.Context, _param: click.Parameter, value: str) -> timedelta:
    span = parse_duration(value)
    if span is None or span <= timedelta(0):
        raise click.BadParameter(f"{value!r} is not a duration such as 30m, 1h or 2d")
    return span


@click.group()
def logs() -> None:
    """Log analysis (high-error-rate emergency): error patterns of a service's logs."""


@logs.command("patterns")
@click.option("--since", default="1h", show_default=True, callback=_since,
              help="How far back to read the service's container logs.")  # fmt: skip
@click.option("--service", help="Compose service whose logs to read (default: scraper_service).")
@click.option("--file", "source", type=click.Path(path_type=Path, allow_dash=True),
              help="Read this log file instead ('-': stdin, read anyway when it is a pipe or a"
              " file and no --service is given).")  # fmt: skip
@click.option("--top", type=click.IntRange(1, 100_000), default=20, show_default=True,
              help="Show the N most frequent patterns.")  # fmt: skip
@click.option("--new", "only_new", is_flag=True, help="Only patterns absent from the baseline.")
@click.option("--baseline", type=click.Path(path_type=Path, dir_okay=False),
              help="Baseline for --new (default: logs.baseline_file).")  # fmt: skip
@click.option("--save-baseline", type=click.Path(path_type=Path, dir_okay=False),
              help="Write this run's templates as a baseline to FILE.")  # fmt: skip
@click.option("--assignments", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
              help="Write each input line's pattern id to FILE, one a line, in order.")  # fmt: skip
@click.option("--errors-only/--all", default=False, show_default=True,
              help="Only patterns that look like errors (level or wording), or all.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
@pass_app
def patterns_cmd(
    app: AppContext,
    *,
    since: timedelta,
    service: str | None,
    source: Path | None,
    top: int,
    only_new: bool,
    baseline: Path | None,
    save_baseline: Path | None,
    assignments: Path | None,
    errors_only: bool,
    as_json: bool,
) -> None:
    """Mine message templates (ids, numbers, URLs, IPs ... masked) and show each with its
    count, share, first and last seen, an example and the domains it names."""
    app.output.as_json = app.output.as_json or as_json
    settings = app.settings
    known = load_baseline(baseline or settings.logs.baseline_file) if only_new else None
    miner = PatternMiner(settings.logs)
    with ExitStack() as stack:
        out = _assignments_file(stack, assignments)
        if source is None and service is None and _piped_stdin():
            source = Path("-")  # `opslib logs patterns < app.log`, `... | opslib logs patterns`
        if source is not None:
            for line in _file_lines(stack, source):
                ident = miner.add(line)
                if out is not None:
                    out.write(f"{ident}\n")
            where = "stdin" if str(source) == "-" else str(source)
        else:
            name = service or settings.scraper_service
            platform = stack.enter_context(open_platform(settings))
            for entry in platform.stream_logs(name, datetime.now(UTC) - since):
                ident = miner.add(entry.text, source=entry.container, at=entry.at)
                if out is not None:
                    out.write(f"{ident}\n")
            where = f"service {name!r}"
    found = miner.patterns()
    if save_baseline is not None:
        written = _write_baseline(found, save_baseline)
        app.output.info(f"baseline of {len(found)} pattern(s) written to {written}")
    shown = new_patterns(found, known) if known is not None else found
    if errors_only:
        shown = [p for p in shown if p.is_error]
    _report(app, shown[:top], miner, where, (len(found), len(shown)))


def _write_baseline(found: list[Pattern], path: Path) -> Path:
    try:
        return save_baseline(found, path)
    except OSError as exc:
        raise InputError(f"cannot write the baseline {path}: {exc.strerror or exc}") from exc


def _piped_stdin() -> bool:
    """Standard input is a pipe or a file (not a terminal, not /dev/null, not closed)."""
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):  # no stdin, or one without a descriptor
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode)


def _assignments_file(stack: ExitStack, path: Path | None) -> IO[str] | None:
    if path is None:
        return None
    if str(path) == "-":
        return sys.stdout
    try:
        return stack.enter_context(path.open("w", encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _file_lines(stack: ExitStack, path: Path) -> Iterator[bytes]:
    if str(path) == "-":
        return read_lines(sys.stdin.buffer, _READ_LIMIT)
    if path.is_dir():
        raise InputError(f"{path} is a directory, not a log file")
    try:
        stream = stack.enter_context(path.open("rb"))
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return read_lines(stream, _READ_LIMIT)


def _report(
    app: AppContext, shown: list[Pattern], miner: PatternMiner, where: str, counts: tuple[int, int]
) -> None:
    total, matching = counts
    payload: dict[str, Any] = {
        "source": where,
        "lines": miner.lines,
        "records": miner.records,
        "patterns_total": total,
        "patterns_matching": matching,
        "patterns": [_public(p) for p in shown],
    }
    summary = (
        f"{miner.lines} line(s), {miner.records} record(s) from {where}: "
        f"{total} pattern(s), {matching} shown by the filters"
        + (f", the top {len(shown)} below" if len(shown) < matching else "")
    )
    blocks = [summary]
    for p in shown:
        domains = f"  domains: {', '.join(p.domains)}" if p.domains else ""
        blocks.append(
            f"\n#{p.id}  {p.count} ({p.share:.1%})  first {p.first_seen:%Y-%m-%d %H:%M:%S}"
            f"  last {p.last_seen:%Y-%m-%d %H:%M:%S}{'  error' if p.is_error else ''}{domains}\n"
            f"  {p.template}\n  e.g. {p.example}"
        )
    app.output.data(payload, "\n".join(blocks))


def _public(p: Pattern) -> dict[str, Any]:
    return {
        "id": p.id,
        "template": p.template,
        "count": p.count,
        "share": round(p.share, 6),
        "first_seen": p.first_seen.isoformat(),
        "last_seen": p.last_seen.isoformat(),
        "example": p.example,
        "domains": list(p.domains),
        "is_error": p.is_error,
    }
