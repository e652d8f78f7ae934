"""daily.health part 1 judged on a fake platform: services running, restarts not climbing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opslib.config import Settings, ThresholdSpec
from opslib.errors import UnreachableError
from opslib.health import restart_trend, service_status
from opslib.results import CheckResult, Severity
from tests.health.fakes import FakePlatform, container

NOW = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)


def _found(result: CheckResult) -> set[tuple[str, str, float | None, Severity]]:
    return {(m.name, m.subject, m.value, m.severity) for m in result.measurements}


# service_status


def test_every_expected_service_running_is_ok() -> None:
    platform = FakePlatform([container("pricewatch-scraper-1"), container("pricewatch-scraper-2")])
    result = service_status(platform, Settings())
    assert result.severity is Severity.OK
    assert _found(result) == {("running_containers", "scraper", 2, Severity.OK)}
    assert result.title == "services of compose project 'pricewatch' are running"


def test_missing_service_is_critical_and_names_it() -> None:
    platform = FakePlatform([container("pricewatch-scraper-1")])
    result = service_status(platform, Settings(expected_services=["scraper", "api"]))
    assert result.severity is Severity.CRITICAL
    assert _found(result) == {
        ("running_containers", "scraper", 1, Severity.OK),
        ("running_containers", "api", 0, Severity.CRITICAL),
    }
    message = result.message()
    assert message.startswith("CRITICAL: services of compose project 'pricewatch' are running")
    assert "running_containers[api] = 0 containers (crit < 1 containers)" in message
    assert (
        "next: inspect with `docker ps -a --filter label=com.docker.compose.project=pricewatch`"
        in (message)
    )


def test_no_containers_at_all_is_critical_for_each_expected_service() -> None:
    result = service_status(FakePlatform(), Settings(compose_project="shop"))
    assert result.severity is Severity.CRITICAL
    assert [(m.name, m.subject, m.value) for m in result.problems] == [
        ("running_containers", "scraper", 0)
    ]
    assert "label=com.docker.compose.project=shop" in result.remediation


def test_exited_container_is_critical_with_its_exit_code() -> None:
    platform = FakePlatform(
        [container("pricewatch-scraper-1"), container("pricewatch-scraper-2", state="exited",
                                                      exit_code=137)]
    )  # fmt: skip
    result = service_status(platform, Settings())
    assert result.severity is Severity.CRITICAL
    [problem] = result.problems
    assert (problem.name, problem.subject, problem.value) == (
        "not_running",
        "pricewatch-scraper-2",
        1,
    )
    assert problem.note == "exited (exit code 137)"
    assert "not_running[pricewatch-scraper-2] = 1 (crit > 0.5): exited (exit code 137)" in (
        result.message()
    )


def test_restarting_container_is_critical_without_an_exit_code() -> None:
    platform = FakePlatform(
        [container("pricewatch-scraper-1"), container("pricewatch-scraper-2", state="restarting")]
    )
    [problem] = service_status(platform, Settings()).problems
    assert (problem.name, problem.severity, problem.note) == (
        "not_running",
        Severity.CRITICAL,
        "restarting",
    )


def test_a_one_shot_job_that_exited_0_is_done_not_down() -> None:
    platform = FakePlatform(
        [
            container("pricewatch-scraper-1"),
            container("pricewatch-migrate-1", "migrate", "exited", exit_code=0,
                      restart_policy="no"),
        ]
    )  # fmt: skip
    result = service_status(platform, Settings())
    assert result.severity is Severity.OK
    [table] = result.tables
    assert table.rows[1][2:5] == ("exited (one-shot, done)", "0", "no")


@pytest.mark.parametrize(
    ("policy", "exit_code", "oneshot", "severity"),
    [
        ("on-failure", 0, [], Severity.OK),
        ("always", 0, [], Severity.CRITICAL),  # a clean exit it will not stay in: down
        ("always", 0, ["seed"], Severity.OK),  # listed as one-shot by the operator
        ("no", 1, [], Severity.CRITICAL),  # the job failed
        ("no", 1, ["seed"], Severity.CRITICAL),  # listed, but failed
    ],
)
def test_one_shot_by_policy_or_setting_and_failures_stay_red(
    policy: str, exit_code: int, oneshot: list[str], severity: Severity
) -> None:
    platform = FakePlatform(
        [
            container("pricewatch-scraper-1"),
            container("pricewatch-seed-1", "seed", "exited", exit_code=exit_code,
                      restart_policy=policy),
        ]
    )  # fmt: skip
    assert service_status(platform, Settings(oneshot_services=oneshot)).severity is severity


def test_a_stopped_replica_of_an_expected_service_is_down_even_with_exit_0() -> None:
    platform = FakePlatform(
        [
            container("pricewatch-scraper-1"),
            container("pricewatch-scraper-2", state="exited", exit_code=0, restart_policy="no"),
        ]
    )
    result = service_status(platform, Settings())
    assert result.severity is Severity.CRITICAL
    [problem] = result.problems
    assert (problem.name, problem.subject) == ("not_running", "pricewatch-scraper-2")


def test_an_expected_service_with_only_a_finished_container_is_still_down() -> None:
    platform = FakePlatform(
        [container("pricewatch-scraper-1", state="exited", exit_code=0, restart_policy="no")]
    )
    problems = {(p.name, p.subject, p.value) for p in service_status(platform, Settings()).problems}
    assert problems == {
        ("running_containers", "scraper", 0),
        ("not_running", "pricewatch-scraper-1", 1),
    }


def test_unhealthy_container_is_critical() -> None:
    platform = FakePlatform([container("pricewatch-scraper-1", health="unhealthy")])
    result = service_status(platform, Settings())
    assert result.severity is Severity.CRITICAL
    [problem] = result.problems
    assert (problem.name, problem.subject, problem.note) == (
        "unhealthy",
        "pricewatch-scraper-1",
        "healthcheck failing",
    )


def test_health_starting_is_a_warning() -> None:
    platform = FakePlatform(
        [container("pricewatch-scraper-1", health="starting"), container("pricewatch-scraper-2")]
    )
    result = service_status(platform, Settings())
    assert result.severity is Severity.WARNING
    assert [(m.name, m.subject) for m in result.problems] == [
        ("health_starting", "pricewatch-scraper-1")
    ]


def test_healthy_healthcheck_is_ok() -> None:
    result = service_status(
        FakePlatform([container("pricewatch-scraper-1", health="healthy")]), Settings()
    )
    assert result.severity is Severity.OK


def test_container_table_shows_state_health_and_uptime() -> None:
    started = datetime.now(UTC) - timedelta(days=3, hours=2, minutes=30)
    platform = FakePlatform(
        [
            container("pricewatch-scraper-1", started_at=started, restart_count=4),
            container("pricewatch-scraper-2", state="exited", exit_code=1, health="unhealthy"),
        ]
    )
    [table] = service_status(platform, Settings()).tables
    assert table.columns == (
        "container", "service", "state", "exit code", "restart policy", "health",
        "restart count", "uptime",
    )  # fmt: skip
    assert table.rows == (
        ("pricewatch-scraper-1", "scraper", "running", "-", "unless-stopped", "-", "4", "3d02h"),
        ("pricewatch-scraper-2", "scraper", "exited", "1", "unless-stopped", "unhealthy", "0", "-"),
    )


@pytest.mark.parametrize(
    ("age", "shown"),
    [
        (timedelta(minutes=4, seconds=5.5), "4m05s"),
        (timedelta(hours=1, minutes=5, seconds=30), "1h05m"),
        (timedelta(days=1, hours=1, minutes=1), "1d01h"),
    ],
    ids=["minutes", "hours", "days"],
)
def test_uptime_is_shown_in_its_largest_units(age: timedelta, shown: str) -> None:
    # half a second of slack: the table reads the wall clock after the test starts the container
    started = datetime.now(UTC) - age
    [table] = service_status(FakePlatform([container("c", started_at=started)]), Settings()).tables
    assert table.rows[0][7] == shown


def test_unreachable_engine_propagates_for_the_plugin_to_report_unknown() -> None:
    error = UnreachableError("docker", "unix:///var/run/docker.sock: connection refused")
    with pytest.raises(UnreachableError) as raised:
        service_status(FakePlatform(error=error), Settings())
    assert raised.value is error


# restart_trend


def test_restarts_are_counted_over_the_hour_before_now() -> None:
    platform = FakePlatform([container("pricewatch-scraper-1")])
    result = restart_trend(platform, Settings(), now=NOW)
    assert platform.restarts_asked == [NOW - timedelta(hours=1)]
    assert result.severity is Severity.OK
    assert _found(result) == {("restarts_per_hour", "pricewatch-scraper-1", 0, Severity.OK)}


@pytest.mark.parametrize(
    ("restarts", "severity"),
    [(1, Severity.OK), (2, Severity.WARNING), (3, Severity.WARNING), (4, Severity.CRITICAL)],
)
def test_climbing_restarts_turn_the_check_red(restarts: int, severity: Severity) -> None:
    platform = FakePlatform(
        [container("pricewatch-scraper-1"), container("pricewatch-scraper-2")],
        restarts={"id-pricewatch-scraper-2": restarts},
    )
    result = restart_trend(platform, Settings(), now=NOW)
    assert result.severity is severity
    by_name = {m.subject: m for m in result.measurements}
    assert by_name["pricewatch-scraper-1"].value == 0
    assert by_name["pricewatch-scraper-2"].value == restarts
    assert by_name["pricewatch-scraper-2"].severity is severity


def test_the_last_exit_of_a_container_that_is_not_running_is_no_restart() -> None:
    # The engine reports a die event per exit: a migrate job that ran once, a crawler stopped
    # by hand, a job that failed twice and then succeeded (restart: on-failure).
    platform = FakePlatform(
        [container("migrate-1", "migrate", "exited", exit_code=0, restart_policy="no"),
         container("crawler-1", "crawler", "exited", exit_code=0),
         container("seed-1", "seed", "exited", exit_code=0, restart_policy="on-failure"),
         container("crawler-2", "crawler", restart_count=1)],
        restarts={"id-migrate-1": 1, "id-crawler-1": 1, "id-seed-1": 3, "id-crawler-2": 1},
    )  # fmt: skip
    result = restart_trend(platform, Settings(), now=NOW)
    assert {m.subject: m.value for m in result.measurements} == {
        "migrate-1": 0, "crawler-1": 0, "seed-1": 2, "crawler-2": 1,
    }  # fmt: skip
    assert result.severity is Severity.WARNING  # seed-1's two restarts
    [table] = result.tables
    assert [row[-1] for row in table.rows] == ["0", "0", "2", "1"]


def test_crash_loop_message_names_the_container_and_the_remedy() -> None:
    platform = FakePlatform(
        [container("pricewatch-scraper-1", restart_count=9)],
        restarts={"id-pricewatch-scraper-1": 6},
    )
    message = restart_trend(platform, Settings(), now=NOW).message()
    assert message.splitlines()[:2] == [
        "CRITICAL: container restart counts are not climbing",
        "  CRITICAL: restarts_per_hour[pricewatch-scraper-1] = 6 restarts/h "
        "(warn > 1 restarts/h, crit > 3 restarts/h)",
    ]
    assert "next: a crash loop: read `docker logs`" in message


def test_restart_threshold_comes_from_settings() -> None:
    platform = FakePlatform(
        [container("pricewatch-scraper-1")], restarts={"id-pricewatch-scraper-1": 1}
    )
    strict = Settings(thresholds={"health.restarts_per_hour": ThresholdSpec(warn=0)})
    assert restart_trend(platform, strict, now=NOW).severity is Severity.WARNING
    assert restart_trend(platform, Settings(), now=NOW).severity is Severity.OK


def test_restarts_of_containers_outside_the_project_are_ignored() -> None:
    platform = FakePlatform([container("pricewatch-scraper-1")], restarts={"id-someone-else": 50})
    result = restart_trend(platform, Settings(), now=NOW)
    assert result.severity is Severity.OK
    assert [m.subject for m in result.measurements] == ["pricewatch-scraper-1"]


def test_restart_table_adds_the_last_hour_column() -> None:
    platform = FakePlatform(
        [container("pricewatch-scraper-1", restart_count=7)],
        restarts={"id-pricewatch-scraper-1": 2},
    )
    [table] = restart_trend(platform, Settings(), now=NOW).tables
    assert table.columns[-1] == "restarts last hour"
    assert table.rows[0][6:] == ("7", "1h00m", "2")


def test_no_containers_is_unknown() -> None:
    platform = FakePlatform()
    result = restart_trend(platform, Settings(compose_project="shop"), now=NOW)
    assert result.severity is Severity.UNKNOWN
    assert result.message() == (
        "UNKNOWN: container restart counts are not climbing: no containers in compose project "
        "'shop'"
    )
    assert platform.restarts_asked == []


def test_restart_trend_lets_a_dependency_error_through() -> None:
    error = UnreachableError("docker", "timed out after 10 s")
    with pytest.raises(UnreachableError) as raised:
        restart_trend(FakePlatform(error=error), Settings(), now=NOW)
    assert raised.value is error
