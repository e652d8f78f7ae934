"""Readiness from probes: full, partial, none; the exit status by the worst."""

from __future__ import annotations

from opslib.doctor import CHECKS, CheckNeeds, DoctorReport, Probe, readiness


def _probe(key: str, found: bool, *, fix: str = "", unreachable: bool = False) -> Probe:
    return Probe(key, key.partition(".")[0], f"item {key}", found, "seen", fix, unreachable)


NEEDS = CheckNeeds("daily.x", "x", (("a.one", "a.two"), ("b.only",)), ("c.extra",))


def test_every_requirement_and_option_found_is_full() -> None:
    probes = [_probe("a.two", True), _probe("b.only", True), _probe("c.extra", True)]
    ready = readiness(NEEDS, probes)
    assert (ready.level, ready.missing, ready.fixes) == ("full", (), ())


def test_a_missing_option_is_partial_and_says_what_and_how() -> None:
    probes = [
        _probe("a.one", True),
        _probe("b.only", True),
        _probe("c.extra", False, fix="export c"),
    ]
    ready = readiness(NEEDS, probes)
    assert ready.level == "partial"
    assert ready.missing == ("item c.extra (optional)",)
    assert ready.fixes == ("export c",)


def test_a_requirement_with_no_alternative_found_is_none() -> None:
    probes = [
        _probe("a.one", False, fix="provide a"),
        _probe("a.two", False),
        _probe("b.only", True),
        _probe("c.extra", True),
    ]
    ready = readiness(NEEDS, probes)
    assert ready.level == "none"
    assert ready.missing == ("item a.one or item a.two",)
    assert ready.fixes == ("provide a",)
    assert not ready.unreachable


def test_exit_status_is_the_worst_and_unreachable_is_3() -> None:
    full = readiness(NEEDS, [_probe("a.one", True), _probe("b.only", True)])
    partial = readiness(
        NEEDS, [_probe("a.one", True), _probe("b.only", True), _probe("c.extra", False)]
    )
    none = readiness(NEEDS, [_probe("a.one", False), _probe("b.only", True)])
    down = readiness(NEEDS, [_probe("a.one", False, unreachable=True), _probe("b.only", True)])
    assert DoctorReport((), (full,)).exit_code == 0
    assert DoctorReport((), (full, partial)).exit_code == 1
    assert DoctorReport((), (partial, none)).exit_code == 2
    assert DoctorReport((), (none, down)).exit_code == 3


def test_every_runbook_check_area_is_judged() -> None:
    assert {c.sop for c in CHECKS} == {
        "daily.health",
        "daily.performance",
        "daily.data_quality",
        "weekly.proxy_pool",
        "monthly.backups",
    }
