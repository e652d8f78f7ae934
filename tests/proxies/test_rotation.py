"""plan_rotation (pure): a required country keeps its minimum whatever case the config uses."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opslib.config import ProxySettings
from opslib.proxies import PoolProxy, ProxyState, plan_rotation

NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)


def _proxy(n: int, country: str, *, check_ok: bool = True) -> PoolProxy:
    return PoolProxy(
        id=n, url=f"http://127.0.0.1:{10000 + n}", country=country, source="test", tags=(),
        state=ProxyState.ACTIVE, in_use=0, max_concurrency=8, requests=20, success_rate=0.9,
        latency_ms=100.0, consecutive_failures=0, backoff_until=None, banned_for=(),
        checked_at=NOW, check_ok=check_ok, exit_ip=None, leaks=False, has_credentials=False,
    )  # fmt: skip


@pytest.mark.parametrize("written", ["DE", "de", "De"])
def test_the_last_proxy_of_a_required_country_is_kept(written: str) -> None:
    settings = ProxySettings(required_countries={written: 1})
    plan = plan_rotation([_proxy(1, "de", check_ok=False), _proxy(2, "fr")], settings, NOW)
    assert plan.quarantine == ()
    assert [url for url, _ in plan.kept] == ["http://127.0.0.1:10001"]


def test_a_failing_proxy_above_the_minimum_is_quarantined() -> None:
    settings = ProxySettings(required_countries={"DE": 1})
    plan = plan_rotation([_proxy(1, "de", check_ok=False), _proxy(2, "de")], settings, NOW)
    assert [url for url, _ in plan.quarantine] == ["http://127.0.0.1:10001"]
