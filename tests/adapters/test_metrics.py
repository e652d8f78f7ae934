"""Scraping /metrics endpoints served by real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import math
import time

import pytest

from opslib.adapters import MetricSample, MetricsEndpoint, MetricsSnapshot, scrape_all
from opslib.errors import DataError, DependencyError, UnreachableError
from tests.adapters.conftest import SLOW_SECONDS, ScriptedHTTP
from tests.support import free_port


def test_scrape_parses_prometheus_client_output(scripted_http: ScriptedHTTP) -> None:
    snapshot = MetricsEndpoint(scripted_http.url("good")).scrape()
    assert snapshot.url == scripted_http.url("good")
    assert snapshot.value("opslib_queue_size") == 42.0
    assert snapshot.value("opslib_jobs_total", kind="a") == 3.0
    assert snapshot.value("opslib_jobs_total") == 8.0
    assert snapshot.value("opslib_jobs_total", kind="zzz") is None
    assert snapshot.value("missing") is None
    ratio = snapshot.value("opslib_ratio")
    assert ratio is not None
    assert math.isnan(ratio)
    assert {"opslib_jobs_total", "opslib_queue_size", "opslib_ratio"} <= snapshot.names()
    assert MetricSample("opslib_jobs_total", {"kind": "b"}, 5.0) in snapshot.samples


def test_garbage_is_a_data_error_naming_the_url_without_credentials(
    scripted_http: ScriptedHTTP,
) -> None:
    url = scripted_http.url("html").replace("http://", "http://scraper:s3cretpass@")
    with pytest.raises(
        DataError, match=r"metrics http://scraper:\*\*\*@127\.0\.0\.1:\d+/html"
    ) as caught:
        MetricsEndpoint(url).scrape()
    assert "s3cretpass" not in str(caught.value)


def test_http_error_status_is_a_dependency_error(scripted_http: ScriptedHTTP) -> None:
    with pytest.raises(DependencyError, match="HTTP 500") as caught:
        MetricsEndpoint(scripted_http.url("error500")).scrape()
    assert not isinstance(caught.value, UnreachableError)
    with pytest.raises(DependencyError, match="HTTP 404"):
        MetricsEndpoint(scripted_http.url("nowhere")).scrape()


def test_runaway_body_is_cut_off_at_the_cap(scripted_http: ScriptedHTTP) -> None:
    started = time.monotonic()
    with pytest.raises(DataError, match="cap"):
        MetricsEndpoint(scripted_http.url("huge")).scrape()
    with pytest.raises(DataError, match="cap"):
        MetricsEndpoint(scripted_http.url("huge-declared")).scrape()
    with pytest.raises(DataError, match="100-byte cap"):
        MetricsEndpoint(scripted_http.url("good"), max_bytes=100).scrape()
    assert time.monotonic() - started < 5


def test_closed_port_is_unreachable() -> None:
    url = f"http://127.0.0.1:{free_port()}/metrics"
    with pytest.raises(UnreachableError, match=f"^metrics {url}: ") as caught:
        MetricsEndpoint(url, timeout=2).scrape()
    assert "refused" in str(caught.value).lower()


def test_silent_endpoint_is_unreachable_within_the_timeout(black_hole: int) -> None:
    started = time.monotonic()
    with pytest.raises(UnreachableError, match=r"within 0\.5 s"):
        MetricsEndpoint(f"http://127.0.0.1:{black_hole}/metrics", timeout=0.5).scrape()
    assert time.monotonic() - started < 1.5


def test_scrape_all_runs_concurrently_and_keeps_order(scripted_http: ScriptedHTTP) -> None:
    slow = [scripted_http.url("slow")] * 4
    urls = [
        *slow,
        scripted_http.url("html"),
        f"http://127.0.0.1:{free_port()}/metrics",
        scripted_http.url("good"),
    ]
    started = time.monotonic()
    results = scrape_all(urls, timeout=5)
    elapsed = time.monotonic() - started
    assert [type(r) for r in results] == [MetricsSnapshot] * 4 + [
        DataError,
        UnreachableError,
        MetricsSnapshot,
    ]
    assert all(
        isinstance(r, MetricsSnapshot) and r.value("opslib_queue_size") == 42.0 for r in results[:4]
    )
    assert elapsed < SLOW_SECONDS * 2, f"4 slow scrapes took {elapsed:.2f} s: not concurrent"


def test_scrape_all_of_nothing_is_empty() -> None:
    assert scrape_all([]) == []
