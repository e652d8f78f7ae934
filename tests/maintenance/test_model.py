"""Scopes, windows and ``--until``: the values of maintenance mode, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opslib.errors import InputError
from opslib.maintenance import MaintenanceScope, MaintenanceWindow, check_reason, parse_until

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def test_scope_is_normalised_and_validated() -> None:
    scope = MaintenanceScope.of(["scraper", " api ", "scraper"], ["Alpha-Shop.TEST.", "b.test"])
    assert scope.services == {"scraper", "api"}
    assert scope.domains == {"alpha-shop.test", "b.test"}
    assert scope.describe() == "services api, scraper; domains alpha-shop.test, b.test"
    assert MaintenanceScope.of().everything
    assert MaintenanceScope.of().describe() == "everything"
    assert MaintenanceScope.of(["x"]).describe() == "service x"
    with pytest.raises(InputError, match="not a service name"):
        MaintenanceScope.of(["bad name"])
    with pytest.raises(InputError, match="not a domain name"):
        MaintenanceScope.of(domains=["http://a.test/"])
    with pytest.raises(InputError, match="not a domain name"):
        MaintenanceScope.of(domains=["-a.test"])


def test_overlap_everything_covers_any_scope() -> None:
    everything = MaintenanceScope.of()
    scraper = MaintenanceScope.of(["scraper"])
    alpha = MaintenanceScope.of(domains=["alpha.test"])
    assert everything.overlaps(alpha)
    assert alpha.overlaps(everything)
    assert not scraper.overlaps(alpha)
    assert MaintenanceScope.of(["scraper"], ["b.test"]).overlaps(alpha) is False
    assert MaintenanceScope.of(["api"], ["alpha.test"]).overlaps(alpha)


def _window(end: datetime, ended: datetime | None = None) -> MaintenanceWindow:
    return MaintenanceWindow(
        1, "deploy", "alice", NOW - timedelta(hours=1), end, MaintenanceScope.of(), ended
    )


def test_a_window_past_its_expected_end_is_stuck_until_closed() -> None:
    late = _window(NOW - timedelta(minutes=30))
    assert late.stuck(NOW)
    assert late.overdue(NOW) == timedelta(minutes=30)
    assert late.as_dict(NOW)["overdue_minutes"] == 30.0
    assert not _window(NOW + timedelta(minutes=1)).stuck(NOW)
    closed = _window(NOW - timedelta(minutes=30), ended=NOW - timedelta(minutes=1))
    assert not closed.stuck(NOW)
    assert closed.overdue(NOW) == timedelta(0)


@pytest.mark.parametrize(
    ("text", "ahead"),
    [
        ("90m", timedelta(minutes=90)),
        ("2h", timedelta(hours=2)),
        ("1h30m", timedelta(minutes=90)),
        ("1d", timedelta(days=1)),
        ("2025-06-01T14:00:00+00:00", timedelta(hours=2)),
        ("2025-06-01T16:00+02:00", timedelta(hours=2)),
    ],
)
def test_until_durations_and_iso_times(text: str, ahead: timedelta) -> None:
    assert parse_until(text, NOW, 168) - NOW == ahead


def test_until_without_a_zone_is_local_time() -> None:
    local = datetime(2025, 6, 1, 15, 0).astimezone()
    assert parse_until("2025-06-01T15:00", NOW, 168) == local
    assert parse_until("2025-06-01T15:00", NOW, 168).tzinfo is not None
    assert local.utcoffset() is not None
    assert parse_until("2025-06-01T15:00+00:00", NOW, 168).tzinfo == UTC


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("soon", "not a duration"),
        ("2 hours", "not a duration"),
        ("", "not a duration"),
        ("30s", "at least a minute ahead"),
        ("2025-06-01T11:00+00:00", "at least a minute ahead"),
        ("8d", "more than 168 h ahead"),
    ],
)
def test_until_that_cannot_be_used_is_input_error(text: str, problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        parse_until(text, NOW, 168)


def test_reason_is_required_and_bounded() -> None:
    assert check_reason("  deploy \n v2 ") == "deploy v2"
    with pytest.raises(InputError, match="say why"):
        check_reason("   ")
    with pytest.raises(InputError, match="at most 500"):
        check_reason("x" * 501)
    assert InputError.exit_code == 2
