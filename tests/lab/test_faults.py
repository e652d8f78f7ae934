"""Each fault shows at its source within seconds, and heal undoes it."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime
from typing import Any

import httpx
import pytest

from opslib.adapters import Database
from opslib.lab import Lab, lab_thresholds
from opslib.lab._catalog import catalog
from opslib.lab._shop import page_layout
from tests.lab.conftest import product_page, prom_query, sample
from tests.support import wait_until

IN_FLIGHT_SECONDS = 2.0


def _now(db: Database) -> datetime:
    row = db.fetch_one("SELECT now() AS now")
    assert row is not None
    now: datetime = row["now"]
    return now


def _settled(db: Database) -> datetime:
    """A moment after an inject or heal from which rows show the changed shop. ``checked_at``
    is the time a row is written, so pages fetched before the change (one per worker thread at
    most, each well under a second) land after it: wait them out."""
    time.sleep(IN_FLIGHT_SECONDS)
    return _now(db)


def _rows(db: Database, since: datetime, domain: str | None = None) -> dict[str, Any]:
    row = db.fetch_one(
        "SELECT count(*) AS total, count(p.price) AS with_price,"
        " count(*) FILTER (WHERE p.extraction_confidence < 0.6) AS low,"
        " avg(p.extraction_confidence) FILTER (WHERE p.extraction_confidence < 0.6) AS low_conf"
        " FROM price_history p JOIN monitored_urls u ON u.id = p.url_id"
        " WHERE p.checked_at > %(since)s AND (%(domain)s::text IS NULL OR u.domain = %(domain)s)",
        {"since": since, "domain": domain},
    )
    assert row is not None
    return row


def _metrics(lab: Lab, index: int) -> str:
    return f"http://127.0.0.1:{lab.settings.metrics_ports[index - 1]}/metrics"


def _errors(lab: Lab, domain: str) -> float:
    return sum(
        sample(_metrics(lab, i), "scraper_errors_total", domain=domain, kind="http_error")
        for i in range(1, lab.settings.workers + 1)
    )


def test_error_burst_then_heal_from_another_process(healthy_lab: Lab) -> None:
    lab = healthy_lab
    domain = lab.domains[1]
    before = _errors(lab, domain)
    description = lab.inject("error-burst", target=domain.split("-")[0])
    assert domain in description
    assert "503" in description
    assert lab.inject("error-burst", target=domain) == description  # already active: no change
    assert [f.name for f in lab.status().faults] == ["error-burst"]
    assert product_page(lab.settings, domain, 2).status_code == 503
    assert product_page(lab.settings, lab.domains[0], 1).status_code == 200
    wait_until(lambda: _errors(lab, domain) >= before + 5, 20, f"errors at {domain} climbing")
    healed = subprocess.run(
        [sys.executable, "-m", "opslib.cli", "lab", "heal", "error-burst",
         "--state-dir", str(lab.paths.root)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert healed.returncode == 0, healed.stderr
    assert f"{domain} healthy again" in healed.stdout
    assert product_page(lab.settings, domain, 2).status_code == 200
    assert lab.status().faults == ()


def test_low_confidence_at_one_domain(healthy_lab: Lab) -> None:
    lab = healthy_lab
    domain = lab.domains[2]
    with lab.database() as db:
        since = _now(db)
        lab.inject("low-confidence", target=domain)
        changed = product_page(lab.settings, domain, 3)
        assert changed.status_code == 200
        assert b'itemprop="price"' not in changed.content
        wait_until(lambda: _rows(db, since, domain)["low"] >= 4, 20, "low-confidence extractions")
        rows = _rows(db, since, domain)
        assert 0.45 <= rows["low_conf"] < 0.6
        assert _rows(db, since, lab.domains[0])["low"] == 0
        lab.heal("low-confidence")
        healed = _settled(db)
        wait_until(lambda: _rows(db, healed, domain)["total"] >= 4, 20, "new rows after heal")
        assert _rows(db, healed, domain)["low"] == 0


def _priced(db: Database, since: datetime) -> dict[int, list[bool]]:
    """Whether each row written since ``since`` has a price, by product number (= url_id)."""
    rows = db.fetch_all(
        "SELECT url_id, price IS NOT NULL AS priced FROM price_history WHERE checked_at > %s",
        (since,),
    )
    priced: dict[int, list[bool]] = {}
    for row in rows:
        priced.setdefault(row["url_id"], []).append(row["priced"])
    return priced


def test_missing_prices(healthy_lab: Lab) -> None:
    # Which pages lose their price is a fixed subset of the products, so the test checks every
    # row against the page the shop serves for its product rather than a share of a sample.
    lab = healthy_lab
    products = {p.n: p for p in catalog(lab.settings)}
    with lab.database() as db:
        lab.inject("missing-prices")
        control = lab.control.read()
        shows_price = {n: page_layout(p, control) != "noprice" for n, p in products.items()}
        assert sum(shows_price.values()) < 0.5 * len(products)
        since = _settled(db)
        wait_until(lambda: sum(map(len, _priced(db, since).values())) >= 25, 20, "rows after it")
        written = _priced(db, since)
        assert any(not shows_price[n] for n in written)  # the sample holds hidden pages
        assert {n: [shows_price[n]] * len(r) for n, r in written.items()} == written
        lab.heal("missing-prices")
        healed = _settled(db)
        wait_until(lambda: sum(map(len, _priced(db, healed).values())) >= 25, 20, "rows after heal")
        after = {n: r for n, r in _priced(db, healed).items() if not products[n].out_of_stock}
        assert after
        assert after == {n: [True] * len(r) for n, r in after.items()}


def test_queue_backlog(healthy_lab: Lab) -> None:
    lab = healthy_lab
    limits = lab_thresholds(lab.settings)["performance.queue_size"]
    url = _metrics(lab, 1)
    assert sample(url, "queue_size") < limits["warn"]
    lab.inject("queue-backlog")
    wait_until(
        lambda: sample(url, "queue_size") > limits["crit"], 20, "queue_size over its threshold"
    )
    lab.heal("queue-backlog")
    wait_until(lambda: sample(url, "queue_size") < limits["warn"], 20, "queue drained")


def test_stale_data(healthy_lab: Lab) -> None:
    lab = healthy_lab
    newest = "SELECT now() - max(checked_at) AS age FROM price_history"
    with lab.database() as db:
        description = lab.inject("stale-data")
        assert "stale-data" in description
        for _ in range(2):
            row = db.fetch_one(newest)
            assert row is not None
            assert row["age"].total_seconds() > 2 * 3600
            logs = db.fetch_one("SELECT now() - max(started_at) AS age FROM scrape_logs")
            assert logs is not None
            assert logs["age"].total_seconds() > 2 * 3600
            time.sleep(1.0)  # a moment in which a worker that still wrote would show
        lab.heal("stale-data")
        row = db.fetch_one(newest)
        assert row is not None
        assert row["age"].total_seconds() < 60
        since = _now(db)
        wait_until(lambda: _rows(db, since)["total"] >= 5, 20, "workers writing again")
        hours = db.fetch_one(
            "SELECT count(DISTINCT date_trunc('hour', checked_at)) AS n FROM price_history"
            " WHERE checked_at > date_trunc('hour', now()) - interval '23 hours'"
        )
        assert hours is not None
        assert hours["n"] == 24


def test_scraper_stopped(healthy_lab: Lab) -> None:
    lab = healthy_lab
    index = lab.settings.workers
    name = lab.settings.worker_name(index)
    assert name in lab.inject("scraper-stopped")
    component = lab.status().component(name)
    assert not component.running
    assert not component.expected
    assert lab.status().running  # a fault is not a broken lab
    with pytest.raises(httpx.ConnectError):
        httpx.get(_metrics(lab, index), timeout=2, trust_env=False)
    instance = f"127.0.0.1:{lab.settings.metrics_ports[index - 1]}"
    wait_until(
        lambda: bool(prom_query(lab.settings, f'up{{job="scraper",instance="{instance}"}} == 0')),
        20,
        "Prometheus seeing the worker down",
    )
    lab.heal()
    assert lab.status().component(name).running
    # The restarted worker serves its metrics again (sample() fails when the endpoint does not).
    assert httpx.get(_metrics(lab, index), timeout=5, trust_env=False).status_code == 200
    assert sample(_metrics(lab, index), "queue_size") >= 0
