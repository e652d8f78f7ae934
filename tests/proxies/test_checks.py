"""The leak check reads the last test results of the active proxies."""

from __future__ import annotations

from datetime import UTC, datetime

from opslib.adapters import Database
from opslib.config import ProxySettings, Settings
from opslib.proxies import (
    ProbeResult,
    ProxyPool,
    country_distribution,
    leaking_proxies,
    parse_proxy_url,
)
from opslib.results import Severity


def test_leak_check_is_unknown_untested_ok_clean_critical_leaking(platform_db: Database) -> None:
    pool = ProxyPool(platform_db)
    urls = [f"http://127.0.0.1:{port}" for port in (9001, 9002, 9003)]
    pool.upsert(parse_proxy_url(u, country="de") for u in urls)
    settings = Settings()
    untested = leaking_proxies(pool, settings)
    assert untested.severity is Severity.UNKNOWN
    assert "opslib proxies test" in untested.message()

    pool.record_probes([ProbeResult(u, "ok", 12.0, 200, "127.0.1.1", False) for u in urls[:2]])
    clean = leaking_proxies(pool, settings)
    assert clean.severity is Severity.OK
    assert "2 tested" in clean.measurements[0].note
    assert "1 untested" in clean.measurements[0].note

    pool.record_probes([ProbeResult(urls[2], "ok", 12.0, 200, "127.0.0.1", True)])
    red = leaking_proxies(pool, settings)
    assert red.severity is Severity.CRITICAL
    assert urls[2] in red.message()
    assert urls[0] not in red.message()
    assert "opslib proxies rotate" in red.message()


def test_required_countries_match_the_pool_whatever_their_case(platform_db: Database) -> None:
    # The pool keeps codes as imported (lower case); operators write DE as often as de.
    pool = ProxyPool(platform_db)
    pool.upsert(parse_proxy_url(f"http://127.0.0.1:{9100 + n}", country="de") for n in range(2))
    pool.upsert(parse_proxy_url(f"http://127.0.0.1:{9200 + n}", country="FR") for n in range(2))
    required = {"DE": 2, "fr": 2, "US": 1}
    settings = Settings(proxies=ProxySettings(required_countries=required))
    result = country_distribution(pool, settings, datetime.now(UTC))
    shortfall = {
        m.subject.upper(): m.value for m in result.measurements if m.name == "country_shortfall"
    }
    assert shortfall == {"DE": 0, "FR": 0, "US": 1}, result.message()
    assert result.severity is Severity.CRITICAL
    assert "0 healthy, 1 required" in result.message()
    [table] = result.tables
    assert {row[0]: row[1:3] for row in table.rows} == {
        "DE": ("2", "2"), "FR": ("2", "2"), "US": ("0", "1"),
    }  # fmt: skip
