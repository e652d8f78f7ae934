"""The leak check reads the last test results of the active proxies."""

from __future__ import annotations

from opslib.adapters import Database
from opslib.config import Settings
from opslib.proxies import ProbeResult, ProxyPool, leaking_proxies, parse_proxy_url
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
