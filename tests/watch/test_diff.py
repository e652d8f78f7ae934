"""opslib.watch: snapshots read from summaries, their diff, the schedule and the alert."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from opslib.errors import DataError, InputError
from opslib.results import Severity
from opslib.watch import (
    Change,
    Snapshot,
    WatchReport,
    change_notice,
    diff,
    parse_span,
    watch,
)


def row(
    nodeid: str, severity: str | None, message: str = "", sop: str = "daily.health"
) -> dict[str, Any]:
    return {
        "nodeid": nodeid,
        "sop": sop,
        "title": nodeid,
        "severity": severity,
        "message": message or f"{severity or 'SKIPPED'}: {nodeid}\n  details",
    }


def summary(*rows: dict[str, Any], exit_status: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "schema": 1,
        "exit_status": exit_status,
        "platform": "lab",
        "checks": list(rows),
        "config_error": None,
        **extra,
    }


def snap(**severities: str | None) -> Snapshot:
    return Snapshot.from_summary(summary(*(row(n, s) for n, s in severities.items())))


def lines(changes: list[Change]) -> list[str]:
    return [c.line() for c in changes]


def test_same_severities_are_no_change_even_when_the_figures_move() -> None:
    before = Snapshot.from_summary(summary(row("a", "CRITICAL", "CRITICAL: rate 12 %")))
    after = Snapshot.from_summary(summary(row("a", "CRITICAL", "CRITICAL: rate 15 %")))
    assert diff(before, after) == []


def test_red_green_new_and_vanished() -> None:
    before = snap(a="OK", b="CRITICAL", c="OK", gone="WARNING")
    after = snap(a="WARNING", b="OK", c="OK", fresh="UNKNOWN")
    assert lines(diff(before, after)) == [
        "red: a [daily.health] OK -> WARNING: WARNING: a",
        "green: b [daily.health] CRITICAL -> OK: OK: b",
        "new: fresh [daily.health] UNKNOWN: UNKNOWN: fresh",
        "vanished: gone [daily.health] (was WARNING)",
    ]


def test_critical_outranks_unknown() -> None:
    changes = diff(snap(a="UNKNOWN"), snap(a="CRITICAL"))
    assert [c.kind for c in changes] == ["red"]
    assert [c.kind for c in diff(snap(a="CRITICAL"), snap(a="UNKNOWN"))] == ["green"]


def test_skipped_checks() -> None:
    base = {"keep": "OK"}
    assert [c.kind for c in diff(snap(**base, a=None), snap(**base, a="OK"))] == ["changed"]
    assert [c.kind for c in diff(snap(**base, a=None), snap(**base, a="CRITICAL"))] == ["red"]
    changed = diff(snap(**base, a="WARNING"), snap(**base, a=None))
    assert lines(changed) == ["changed: a [daily.health] WARNING -> SKIPPED: SKIPPED: a"]


def test_a_run_that_judges_nothing_keeps_the_last_checks_and_is_unknown() -> None:
    good = snap(a="OK", b="WARNING")
    broken = Snapshot.from_summary(summary(exit_status=4), previous=good)
    assert broken.severity is Severity.UNKNOWN
    assert broken.error == "no check ran (pytest exit 4)"
    assert lines(diff(good, broken)) == ["run: no check ran (pytest exit 4)"]
    again = Snapshot.failed("pytest exited 2", previous=broken)
    assert lines(diff(broken, again)) == ["run: pytest exited 2"]
    assert diff(again, Snapshot.failed("pytest exited 2", previous=again)) == []
    # Judging again: compared with the checks last judged, not with an empty suite.
    back = snap(a="CRITICAL", b="WARNING")
    assert lines(diff(again, back)) == [
        "run: judging again: 2 check(s): 0 OK, 1 WARNING, 1 CRITICAL, 0 UNKNOWN",
        "red: a [daily.health] OK -> CRITICAL: CRITICAL: a",
    ]


def test_config_error_and_all_skipped_judge_nothing() -> None:
    config = Snapshot.from_summary(summary(row("a", "UNKNOWN"), config_error="bad timeouts"))
    assert config.error == "configuration: bad timeouts"
    skipped = Snapshot.from_summary(summary(row("a", None), row("b", None)))
    assert skipped.error == "every check skipped (pytest exit 0)"
    assert skipped.severity is Severity.UNKNOWN


def test_worst_severity_and_counts() -> None:
    current = snap(a="OK", b="CRITICAL", c="UNKNOWN", d=None)
    assert current.severity is Severity.CRITICAL
    assert current.counts() == {"OK": 1, "WARNING": 0, "CRITICAL": 1, "UNKNOWN": 1, "SKIPPED": 1}
    assert snap(a="OK", b="WARNING").severity is Severity.WARNING


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"exit_status": 0},
        {"exit_status": 0, "checks": [{}]},
        {"exit_status": 0, "checks": [row("a", "PURPLE")]},
    ],
)
def test_not_a_summary(document: dict[str, Any]) -> None:
    with pytest.raises(DataError, match="not an opslib summary"):
        Snapshot.from_summary(document)


@pytest.mark.parametrize(
    ("text", "seconds"), [("60s", 60), ("5m", 300), ("1h30m", 5400), ("45", 45), ("1d", 86400)]
)
def test_spans(text: str, seconds: float) -> None:
    assert parse_span(text, "--every") == seconds


@pytest.mark.parametrize("text", ["", "0s", "soon", "-5s", "1.5m", "5 minutes"])
def test_bad_spans(text: str) -> None:
    with pytest.raises(InputError, match="--every"):
        parse_span(text, "--every")


class FakeTime:
    """A clock that only moves when slept on or when a run takes time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_watch_schedules_start_to_start_and_reports_changes_only() -> None:
    fake = FakeTime()
    runs = iter(
        [
            snap(a="OK", b="OK"),
            snap(a="OK", b="OK"),
            snap(a="CRITICAL", b="OK"),
            snap(a="CRITICAL", b="OK"),
            snap(a="OK", b="OK"),
        ]
    )
    starts: list[float] = []

    def run(previous: Snapshot | None) -> Snapshot:
        starts.append(fake.now)
        fake.now += 2.0  # every run takes 2 s
        return next(runs)

    firsts: list[Snapshot] = []
    reported: list[list[str]] = []
    report = watch(
        run,
        every=10,
        duration=40,
        on_first=firsts.append,
        on_changes=lambda changes, _: reported.append(lines(changes)),
        clock=fake.clock,
        sleep=fake.sleep,
    )
    assert starts == [1000, 1010, 1020, 1030, 1040]
    assert fake.slept == [8, 8, 8, 8]
    assert len(firsts) == 1
    assert reported == [
        ["red: a [daily.health] OK -> CRITICAL: CRITICAL: a"],
        ["green: a [daily.health] CRITICAL -> OK: OK: a"],
    ]
    assert report.runs == 5
    assert report.severity is Severity.OK


def test_a_run_longer_than_every_is_followed_at_once_and_none_starts_after_the_end() -> None:
    fake = FakeTime()
    starts: list[float] = []

    def run(previous: Snapshot | None) -> Snapshot:
        starts.append(fake.now)
        fake.now += 15.0
        return snap(a="WARNING")

    report = watch(
        run,
        every=10,
        duration=40,
        on_first=lambda _: None,
        on_changes=lambda *_: None,
        clock=fake.clock,
        sleep=fake.sleep,
    )
    assert starts == [1000, 1015, 1030]
    assert fake.slept == []
    assert report.severity is Severity.WARNING


def test_an_interrupted_watch_keeps_what_it_saw() -> None:
    fake = FakeTime()

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    seen = WatchReport()
    with pytest.raises(KeyboardInterrupt):
        watch(
            lambda _: snap(a="CRITICAL"),
            every=10,
            duration=60,
            on_first=lambda _: None,
            on_changes=lambda *_: None,
            report=seen,
            clock=fake.clock,
            sleep=interrupt,
        )
    assert seen.runs == 1
    assert seen.severity is Severity.CRITICAL
    assert WatchReport().severity is Severity.UNKNOWN


def test_change_notice() -> None:
    changes = diff(snap(a="OK", b="CRITICAL", gone="OK"), snap(a="CRITICAL", b="OK"))
    notice = change_notice(
        changes,
        suite="checks/daily",
        platform="lab",
        finished=datetime(2025, 6, 1, 2, 0, tzinfo=UTC),
        contact="ops desk",
    )
    assert notice.kind == "alert"
    assert notice.subject == (
        "[opslib] watch checks/daily: 1 turned red, 1 turned green, 1 vanished on lab"
    )
    assert dict(notice.fields)["Contact"] == "ops desk"
    assert [(i.check, i.severity) for i in notice.items] == [
        ("a", "CRITICAL (was OK)"),
        ("b", "OK (was CRITICAL)"),
        ("gone", "GONE (was OK)"),
    ]
    with pytest.raises(InputError):
        change_notice([], suite="s", platform="p", finished=datetime.now(UTC))


def test_max_runs_ends_the_watch_before_its_duration() -> None:
    fake = FakeTime()

    def run(previous: Snapshot | None) -> Snapshot:
        fake.now += 1.0
        return snap(a="OK")

    report = watch(
        run, every=10, duration=3600, on_first=lambda _: None, on_changes=lambda *_: None,
        max_runs=3, clock=fake.clock, sleep=fake.sleep,
    )  # fmt: skip
    assert report.runs == 3
    assert fake.slept == [9, 9]  # no sleep after the last run
