"""``opslib watch``: re-run a check suite and report only what changed (enhanced monitoring)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from opslib.cli._context import AppContext, pass_app
from opslib.connect import describe_platform
from opslib.errors import InputError
from opslib.notify import channels_for, format_duration, send_notice
from opslib.watch import (
    Change,
    PytestSuite,
    Snapshot,
    WatchReport,
    change_notice,
    parse_span,
    watch,
)

__all__ = ["watch_cmd"]


def _stamp() -> str:
    return datetime.now().astimezone().strftime("%H:%M:%S")


@click.command("watch")
@click.argument("suite", type=click.Path(path_type=Path))
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
@click.option("--every", default="60s", show_default=True,
              help="Start a run this often (60s, 5m, 1h).")  # fmt: skip
@click.option("--for", "span", default="30m", show_default=True,
              help="Start no run after this long (30m, 2h).")  # fmt: skip
@click.option(
    "--run-timeout",
    default="10m",
    show_default=True,
    help="Stop a run still going after this long; it counts as judged nothing.",
)
@click.option("--runs", type=click.IntRange(1, 100_000), default=None,
              help="Stop after this many runs (also within --for).")  # fmt: skip
@pass_app
def watch_cmd(
    app: AppContext,
    *,
    suite: Path,
    pytest_args: tuple[str, ...],
    every: str,
    span: str,
    run_timeout: str,
    runs: int | None,
) -> None:
    """Re-run SUITE (pytest, extra arguments after --) and print only what changed: a check
    that turned red or green, one new or vanished. Changes go to the notify channels that
    carry alerts. Exit status: the worst severity of the last run (0 OK, 1 WARNING,
    2 CRITICAL, 3 UNKNOWN)."""
    interval, duration = parse_span(every, "--every"), parse_span(span, "--for")
    limit = parse_span(run_timeout, "--run-timeout")
    if not suite.exists():
        raise InputError(f"{suite}: no such file or directory")
    settings = app.settings
    out = app.output
    alerting = channels_for("alert", settings.notify)
    runner = PytestSuite(suite, tuple(pytest_args), app.config_file, timeout=limit)

    def platform(snapshot: Snapshot) -> str:
        return snapshot.platform or describe_platform(settings)

    def on_first(snapshot: Snapshot) -> None:
        out.info(f"{_stamp()} {suite}: first run: {snapshot.describe()};"
                 f" worst {snapshot.severity.name}")  # fmt: skip

    def on_changes(changes: list[Change], snapshot: Snapshot) -> None:
        for change in changes:
            out.info(f"{_stamp()} {change.line()}")
        if not alerting:
            return
        notice = change_notice(
            changes,
            suite=str(suite),
            platform=platform(snapshot),
            finished=datetime.now(UTC),
            contact=settings.notify.contact,
            zone=ZoneInfo(settings.notify.timezone),
        )
        report = send_notice(notice, settings.notify, channels=alerting)
        if report.sent:
            out.info(f"{_stamp()} notice sent to {', '.join(d.channel for d in report.sent)}")
        for d in report.failed:
            out.info(f"opslib: warning: notice not sent to {d.channel} ({d.target}): {d.reason}")

    seen = WatchReport()
    began = time.monotonic()
    try:
        watch(runner.run, every=interval, duration=duration, on_first=on_first,
              on_changes=on_changes, report=seen, max_runs=runs)  # fmt: skip
    except KeyboardInterrupt:
        _close(app, seen, began, interrupted=True)
        raise
    _close(app, seen, began, interrupted=False)
    click.get_current_context().exit(int(seen.severity))


def _close(app: AppContext, seen: WatchReport, began: float, *, interrupted: bool) -> None:
    took = format_duration(timedelta(seconds=round(time.monotonic() - began)))
    last = seen.last.describe() if seen.last is not None else "none finished"
    how = "interrupted after" if interrupted else "watched"
    text = (f"{how} {seen.runs} run(s) in {took}, {len(seen.changes)} change(s);"
            f" last run: {last}")  # fmt: skip
    if app.output.as_json:
        app.output.data({
            "runs": seen.runs,
            "interrupted": interrupted,
            "severity": seen.severity.name,
            "changes": [
                {"kind": c.kind, "check": c.nodeid, "sop": c.sop, "before": c.before,
                 "after": c.after, "message": c.message}
                for c in seen.changes
            ],
            "last": seen.last.counts() if seen.last is not None else None,
        })  # fmt: skip
    app.output.info(text)
