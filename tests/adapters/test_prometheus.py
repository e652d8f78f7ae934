"""The Prometheus adapter against a real Prometheus scraping a real exporter."""

from __future__ import annotations

import itertools
import math
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from opslib.adapters import Prometheus, RangeSeries, Sample
from opslib.errors import DataError, DependencyError, UnreachableError
from tests.adapters.conftest import PrometheusServer, ScriptedHTTP
from tests.support import free_port, wait_until


@pytest.fixture
def prom(prometheus_server: PrometheusServer) -> Iterator[Prometheus]:
    with Prometheus(prometheus_server.url, timeout=5) as client:
        yield client


def _by_kind(samples: list[Sample]) -> dict[str, float]:
    return {s.labels["kind"]: s.value for s in samples}


def test_probe_returns_the_server_version(prom: Prometheus) -> None:
    assert re.match(r"\d+\.\d+\.\d+", prom.probe())


def test_query_returns_labelled_samples(
    prom: Prometheus, prometheus_server: PrometheusServer
) -> None:
    samples = prom.query("opslib_test_jobs_total")
    assert _by_kind(samples) == {"a": 3.0, "b": 5.0}
    assert {s.labels["job"] for s in samples} == {"exporter"}
    assert {s.labels["instance"] for s in samples} == {prometheus_server.exporter}


def test_query_at_a_time_before_any_data_is_empty(prom: Prometheus) -> None:
    assert prom.query("opslib_test_jobs_total", at=datetime.now(UTC) - timedelta(hours=1)) == []


def test_scalar_sums_a_vector_and_reads_a_scalar(prom: Prometheus) -> None:
    assert prom.scalar("opslib_test_jobs_total") == 8.0
    assert prom.scalar("sum(opslib_test_jobs_total)") == 8.0
    assert prom.scalar("scalar(sum(opslib_test_jobs_total)) * 2") == 16.0
    assert prom.query("2 + 3") == [Sample({}, 5.0)]


def test_empty_result_is_none(prom: Prometheus) -> None:
    assert prom.query('opslib_test_jobs_total{kind="nope"}') == []
    assert prom.scalar('opslib_test_jobs_total{kind="nope"}') is None


def test_nan_is_kept_in_samples_and_ignored_by_scalar(prom: Prometheus) -> None:
    [sample] = prom.query("0/0")
    assert math.isnan(sample.value)
    assert all(math.isnan(s.value) for s in prom.query("opslib_test_jobs_total * 0 / 0"))
    assert prom.scalar("0/0") is None
    assert prom.scalar("opslib_test_jobs_total * 0 / 0") is None
    assert prom.scalar('opslib_test_jobs_total / (opslib_test_jobs_total{kind="a"} * 0 + 1)') == 3.0


def test_query_range_gives_points_at_each_step(prom: Prometheus) -> None:
    history = 'count_over_time(opslib_test_jobs_total{kind="a"}[1m])'
    wait_until(lambda: (prom.scalar(history) or 0) >= 4, 15, "four scrapes of the exporter")
    end = datetime.now(UTC)
    series = prom.query_range("opslib_test_jobs_total", end - timedelta(seconds=3), end, 1.0)
    assert len(series) == 2
    for one in series:
        assert isinstance(one, RangeSeries)
        assert one.labels["job"] == "exporter"
        assert len(one.points) >= 3
        stamps = [ts for ts, _ in one.points]
        assert stamps == sorted(stamps)
        assert all(b - a == pytest.approx(1.0) for a, b in itertools.pairwise(stamps))
        assert end.timestamp() - 3.01 <= stamps[0]
        assert stamps[-1] <= end.timestamp() + 0.01
        assert {v for _, v in one.points} == {3.0 if one.labels["kind"] == "a" else 5.0}


def test_targets_report_up_and_down(prom: Prometheus, prometheus_server: PrometheusServer) -> None:
    targets = {t.job: t for t in prom.targets()}
    assert targets["exporter"].health == "up"
    assert targets["exporter"].instance == prometheus_server.exporter
    assert targets["exporter"].last_error == ""
    assert targets["dead"].health == "down"
    assert "refused" in targets["dead"].last_error


def test_bad_promql_is_a_dependency_error(prom: Prometheus) -> None:
    with pytest.raises(DependencyError, match="bad_data") as caught:
        prom.query("sum(")
    assert not isinstance(caught.value, UnreachableError)
    with pytest.raises(DependencyError, match="bad_data"):
        prom.query_range("rate(", datetime.now(UTC) - timedelta(minutes=1), datetime.now(UTC), 10)


def test_range_vector_from_instant_query_is_a_data_error(prom: Prometheus) -> None:
    with pytest.raises(DataError, match="matrix"):
        prom.query("opslib_test_jobs_total[1m]")


def test_closed_port_is_unreachable_quickly() -> None:
    started = time.monotonic()
    prom = Prometheus(f"http://user:hunter2hunter@127.0.0.1:{free_port()}", timeout=2)
    with prom, pytest.raises(UnreachableError, match=r"^prometheus: ") as caught:
        prom.probe()
    assert time.monotonic() - started < 1.5
    assert "hunter2hunter" not in str(caught.value)
    assert "hunter2hunter" not in repr(prom)


def test_silent_server_is_unreachable_within_the_timeout(black_hole: int) -> None:
    started = time.monotonic()
    prom = Prometheus(f"http://127.0.0.1:{black_hole}", timeout=1)
    with prom, pytest.raises(UnreachableError, match="within 1 s"):
        prom.query("up")
    assert 0.9 < time.monotonic() - started < 2.0


def test_html_instead_of_json_is_a_data_error(scripted_http: ScriptedHTTP) -> None:
    prom = Prometheus(scripted_http.url("html"), timeout=2)
    with prom, pytest.raises(DataError, match="JSON"):
        prom.query("up")


def test_wrong_shaped_json_is_a_data_error(scripted_http: ScriptedHTTP) -> None:
    prom = Prometheus(scripted_http.url("wrong-shape"), timeout=2)
    with prom, pytest.raises(DataError, match="shape"):
        prom.query("up")


def test_server_errors_are_retried_a_bounded_number_of_times(scripted_http: ScriptedHTTP) -> None:
    before = scripted_http.hits["error500"]
    started = time.monotonic()
    prom = Prometheus(scripted_http.url("error500"), timeout=2)
    with prom, pytest.raises(DependencyError, match="HTTP 500") as caught:
        prom.probe()
    assert not isinstance(caught.value, UnreachableError)
    assert scripted_http.hits["error500"] - before == 3
    assert time.monotonic() - started < 2.0
