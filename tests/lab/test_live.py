"""The running lab does real work: scrapes through proxies, rows, metrics, Prometheus."""

from __future__ import annotations

import socket

import httpx

from opslib.lab import Lab
from tests.lab.conftest import prom_query, sample, scrape
from tests.support import wait_until


def _metrics_url(lab: Lab, index: int = 1) -> str:
    return f"http://127.0.0.1:{lab.settings.metrics_ports[index - 1]}/metrics"


def test_workers_write_rows_in_the_current_hour(lab: Lab) -> None:
    with lab.database() as db:

        def recent() -> int:
            row = db.fetch_one(
                "SELECT count(*) AS n FROM price_history"
                " WHERE checked_at > now() - interval '5 seconds'"
            )
            return int(row["n"]) if row else 0

        wait_until(lambda: recent() >= 10, 20, "fresh rows in price_history")
        logs = db.fetch_all(
            "SELECT DISTINCT worker, proxy, proxy_country FROM scrape_logs"
            " WHERE started_at > now() - interval '1 minute'"
        )
    workers = {r["worker"] for r in logs}
    assert workers == {lab.settings.worker_name(i) for i in range(1, lab.settings.workers + 1)}
    proxies = {(r["proxy"], r["proxy_country"]) for r in logs}
    assert proxies == {(label, country) for label, country, _port in lab.settings.proxies}
    assert not any("@" in str(r["proxy"]) for r in logs)


def test_history_covers_the_past_days(lab: Lab) -> None:
    with lab.database() as db:
        row = db.fetch_one(
            "SELECT count(DISTINCT date_trunc('hour', checked_at)) AS hours,"
            " count(*) FILTER (WHERE price IS NULL)::float / count(*) AS null_share,"
            " avg(extraction_confidence) AS confidence FROM price_history"
            " WHERE checked_at > now() - interval '7 days'"
        )
        urls = db.fetch_one("SELECT count(*) AS n, count(DISTINCT domain) AS d FROM monitored_urls")
        errors = db.fetch_one(
            "SELECT count(*) FILTER (WHERE outcome <> 'ok')::float / count(*) AS share,"
            " count(DISTINCT status_code) AS codes FROM scrape_logs"
        )
    assert row is not None
    assert urls is not None
    assert errors is not None
    assert row["hours"] >= 7 * 24
    assert 0.01 <= row["null_share"] <= 0.04
    assert 0.9 <= row["confidence"] <= 0.99
    assert urls["n"] >= 240
    assert urls["d"] >= 8
    assert 0.005 <= errors["share"] <= 0.05
    assert errors["codes"] >= 4


def test_metrics_counters_climb(lab: Lab) -> None:
    url = _metrics_url(lab)
    before = sample(url, "scraper_processed_total")
    wait_until(lambda: sample(url, "scraper_processed_total") >= before + 5, 20, "processing")
    samples = scrape(url)
    names = {name for name, _labels in samples}
    assert {"scraper_requests_total", "scraper_errors_total", "queue_size",
            "scraper_request_duration_seconds_bucket"} <= names  # fmt: skip
    domains = {
        dict(labels)["domain"] for name, labels in samples if name == "scraper_requests_total"
    }
    assert domains == set(lab.domains)
    assert sample(url, "queue_size") < 60  # healthy: the queue stays near empty


def test_prometheus_scrapes_every_worker(lab: Lab) -> None:
    up = prom_query(lab.settings, 'up{job="scraper"}')
    assert {r["metric"]["instance"] for r in up} == {
        f"127.0.0.1:{p}" for p in lab.settings.metrics_ports
    }
    assert all(r["value"][1] == "1" for r in up)
    wait_until(
        lambda: bool(prom_query(lab.settings, "sum(rate(scraper_requests_total[30s])) > 3")),
        20,
        "a request rate of a few per second in Prometheus",
    )
    assert prom_query(lab.settings, "scraper_errors_total")


def test_prometheus_has_history_from_the_first_minute(lab: Lab) -> None:
    settings = lab.settings
    ninety_minutes_ago = prom_query(settings, "sum(scraper_processed_total offset 90m)")
    assert ninety_minutes_ago
    assert float(ninety_minutes_ago[0]["value"][1]) > 0
    hourly = prom_query(settings, "sum(rate(scraper_processed_total[1h]))")
    rate = float(hourly[0]["value"][1])
    assert 0.5 * settings.scrape_rate < rate < 1.5 * settings.scrape_rate
    errors = prom_query(
        settings, "sum(rate(scraper_errors_total[1h])) / sum(rate(scraper_requests_total[1h]))"
    )
    assert 0 < float(errors[0]["value"][1]) < 0.05


def test_proxies_forward_to_shops_and_show_their_exit_ip(lab: Lab) -> None:
    settings = lab.settings
    for index, (label, _country, _port) in enumerate(settings.proxies):
        response = httpx.get(
            f"http://{lab.domains[0]}:{settings.shop_port}/judge",
            proxy=label,
            timeout=5,
            trust_env=False,
        )
        assert response.status_code == 200
        judged = response.json()
        assert judged["client_ip"] == settings.proxy_source_ip(index)
        assert "X-Forwarded-For" not in judged["headers"]


def test_proxies_refuse_non_loopback_targets(lab: Lab) -> None:
    label = lab.settings.proxies[0][0]
    response = httpx.get("http://example.com/", proxy=label, timeout=5, trust_env=False)
    assert response.status_code == 403
    port = lab.settings.proxy_ports[0]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"CONNECT 10.0.0.1:443 HTTP/1.1\r\nHost: 10.0.0.1:443\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 403")


def _tunnelled(lab: Lab, path: str) -> bytes:
    """GET ``path`` of the second shop through a CONNECT tunnel of the second proxy."""
    port, shop = lab.settings.proxy_ports[1], lab.settings.shop_port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"CONNECT {lab.domains[1]}:{shop} HTTP/1.1\r\n\r\n".encode())
        assert sock.recv(100).startswith(b"HTTP/1.1 200")
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {lab.domains[1]}\r\n\r\n".encode())
        page = b""
        while chunk := sock.recv(65536):
            page += chunk
    return page


def test_proxies_tunnel_connect_to_the_shops(lab: Lab) -> None:
    ok = (b"HTTP/1.0 200", b"HTTP/1.1 200")
    for _ in range(5):  # a healthy shop fails about one product page in a hundred
        page = _tunnelled(lab, "/product/2")
        if page.startswith(ok):
            break
    assert page.startswith(ok), page[:200]
    assert b'itemprop="price"' in page or b'class="price"' in page


def test_shop_routes_on_the_host_header(lab: Lab) -> None:
    shop = f"http://127.0.0.1:{lab.settings.shop_port}"
    unknown = httpx.get(
        f"{shop}/product/1", headers={"Host": "nowhere.test"}, timeout=5, trust_env=False
    )
    assert unknown.status_code == 404
    wrong_shop = httpx.get(
        f"{shop}/product/1", headers={"Host": lab.domains[1]}, timeout=5, trust_env=False
    )
    assert wrong_shop.status_code == 404  # product 1 belongs to the first shop
