"""daily.health part 2 judged on a fake platform: CPU and memory of every running container."""

from __future__ import annotations

import pytest

from opslib.config import Settings, ThresholdSpec
from opslib.errors import DependencyError
from opslib.health import resource_usage
from opslib.results import Severity
from tests.health.fakes import FakePlatform, container, usage


def _platform(*sampled: tuple[str, float, float]) -> FakePlatform:
    """Running containers named as ``sampled``, each with (cpu %, memory MiB of 1000)."""
    return FakePlatform(
        [container(name) for name, _, _ in sampled],
        sampled=[usage(name, cpu, mem) for name, cpu, mem in sampled],
    )


def test_usage_under_thresholds_is_ok_with_every_figure() -> None:
    result = resource_usage(_platform(("s-1", 12.34, 250), ("s-2", 40.0, 500)), Settings())
    assert result.severity is Severity.OK
    assert {(m.name, m.subject, m.value) for m in result.measurements} == {
        ("cpu_percent", "s-1", 12.3),
        ("memory_percent", "s-1", 25.0),
        ("cpu_percent", "s-2", 40.0),
        ("memory_percent", "s-2", 50.0),
    }


@pytest.mark.parametrize(
    ("cpu", "severity"),
    [(80.0, Severity.OK), (80.2, Severity.WARNING), (95.0, Severity.WARNING),
     (95.3, Severity.CRITICAL), (180.0, Severity.CRITICAL)],
)  # fmt: skip
def test_cpu_over_threshold(cpu: float, severity: Severity) -> None:
    result = resource_usage(_platform(("s-1", cpu, 100), ("s-2", 5.0, 100)), Settings())
    assert result.severity is severity
    assert [(m.name, m.subject) for m in result.problems] == (
        [] if severity is Severity.OK else [("cpu_percent", "s-1")]
    )


@pytest.mark.parametrize(
    ("memory_mib", "severity"),
    [(799, Severity.OK), (850, Severity.WARNING), (960, Severity.CRITICAL)],
)
def test_memory_over_threshold(memory_mib: float, severity: Severity) -> None:
    result = resource_usage(_platform(("s-1", 5.0, memory_mib)), Settings())
    assert result.severity is severity
    memory = next(m for m in result.measurements if m.name == "memory_percent")
    assert memory.value == pytest.approx(memory_mib / 10, abs=0.05)
    assert memory.severity is severity


def test_message_names_the_container_measured_value_and_limits() -> None:
    result = resource_usage(_platform(("s-1", 97.26, 100), ("s-2", 5, 900)), Settings())
    assert result.message().splitlines() == [
        "CRITICAL: container CPU and memory under thresholds",
        "  CRITICAL: cpu_percent[s-1] = 97.3 % (warn > 80 %, crit > 95 %)",
        "  WARNING: memory_percent[s-2] = 90 % (warn > 80 %, crit > 95 %)",
        "  next: System Overload response: `pytest checks/emergency/overload` (it names `opslib"
        " scale scraper N`, `opslib limits set scraper`, `opslib urls pause --priority low`)",
    ]


def test_thresholds_come_from_settings() -> None:
    settings = Settings(
        thresholds={
            "health.cpu_percent": ThresholdSpec(warn=30, crit=50),
            "health.memory_percent": ThresholdSpec(crit=40),
        }
    )
    result = resource_usage(_platform(("s-1", 35.0, 100), ("s-2", 5.0, 450)), settings)
    assert {(m.name, m.subject, m.severity) for m in result.problems} == {
        ("cpu_percent", "s-1", Severity.WARNING),
        ("memory_percent", "s-2", Severity.CRITICAL),
    }


def test_only_running_containers_are_sampled_for_the_configured_time() -> None:
    platform = FakePlatform(
        [container("s-1"), container("s-2", state="exited", exit_code=0), container("s-3")],
        sampled=[usage("s-1", 1, 10), usage("s-3", 2, 20)],
    )
    result = resource_usage(platform, Settings(stats_sample_seconds=1.5))
    assert platform.usage_asked == [(["s-1", "s-3"], 1.5)]
    assert {m.subject for m in result.measurements} == {"s-1", "s-3"}


def test_no_container_at_all_is_unknown() -> None:
    platform = FakePlatform([])
    result = resource_usage(platform, Settings(compose_project="shop"))
    assert result.severity is Severity.UNKNOWN
    assert result.message() == (
        "UNKNOWN: container CPU and memory under thresholds: "
        "no containers in compose project 'shop'"
    )
    assert platform.usage_asked == []


def test_stopped_containers_use_nothing_and_leave_the_fault_to_the_services_check() -> None:
    # A platform with one crawler: stopping it is the services check's CRITICAL, not a second
    # red line here (an UNKNOWN fails the run just as well).
    platform = FakePlatform(
        [container("crawler-1", state="exited", exit_code=0),
         container("migrate-1", state="exited", exit_code=0)]
    )  # fmt: skip
    result = resource_usage(platform, Settings(compose_project="shop"))
    assert result.severity is Severity.OK
    [measurement] = result.measurements
    assert (measurement.name, measurement.value) == ("running_containers", 0)
    assert "none of the 2 containers is running" in measurement.note
    assert platform.usage_asked == []


def test_container_without_a_memory_limit_is_unknown_not_a_crash() -> None:
    platform = FakePlatform(
        [container("s-1")], sampled=[usage("s-1", cpu=10, memory_mib=100, limit_mib=0)]
    )
    result = resource_usage(platform, Settings())
    assert result.severity is Severity.UNKNOWN
    [problem] = result.problems
    assert (problem.name, problem.subject) == ("memory_percent", "s-1")
    assert (
        "  UNKNOWN: memory_percent[s-1] = nan % (warn > 80 %, crit > 95 %): "
        "the engine reported no memory limit"
    ) in result.message().splitlines()


def test_table_shows_usage_in_mib_and_percent() -> None:
    platform = FakePlatform(
        [container("s-1", service="worker")],
        sampled=[usage("s-1", 33.333, 256.0, limit_mib=512, service="worker")],
    )
    [table] = resource_usage(platform, Settings()).tables
    assert table.columns == (
        "container",
        "service",
        "CPU %",
        "memory MiB",
        "limit MiB",
        "memory %",
    )
    assert table.rows == (("s-1", "worker", "33.3", "256.0", "512", "50.0"),)


def test_engine_error_propagates_for_the_plugin_to_report_unknown() -> None:
    error = DependencyError("docker", "500 Server Error: stats unavailable")
    with pytest.raises(DependencyError) as raised:
        resource_usage(FakePlatform(error=error), Settings())
    assert raised.value is error
