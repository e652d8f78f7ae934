"""Caching (the runbook's enable_caching) on a lab of its own: `opslib domains caching D on`
makes its scrapers send conditional requests; the shop answers 304 for unchanged pages and the
overload report shows the hit rate for that shop alone. A lab of its own, because the session
lab carries other tests' intervals, pauses and cooldowns, which move the rate of one shop in
a one-minute window."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from opslib import overload
from opslib.adapters import Prometheus
from opslib.cli import main
from opslib.config import load_settings
from opslib.lab import Lab
from tests.labkit import make_lab_settings, require_lab_infrastructure
from tests.support import poll_until


@pytest.fixture(scope="module")
def cache_lab() -> Iterator[Lab]:
    require_lab_infrastructure()
    with Lab(make_lab_settings("pricewatch-cache")) as lab:
        yield lab


def test_caching_on_a_domain_answers_304_and_shows_the_hit_rate(
    cache_lab: Lab, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_settings(cache_lab.config_file)
    monkeypatch.setenv("OPSLIB_CONFIG", str(cache_lab.config_file))
    prometheus = Prometheus(settings.prometheus_url, timeout=settings.timeouts.http)
    domain = cache_lab.domains[5]
    assert main(["domains", "caching", domain, "on"]) == 0
    assert f"caching on for {domain}" in capsys.readouterr().out
    # every URL of the shop due now: its second check with caching on, the first that can be
    # a 304, inside the test's time
    with cache_lab.database() as db:
        db.execute("UPDATE monitored_urls SET next_check_at = now() WHERE domain = %s", (domain,))
    try:

        def hits() -> float:
            result = overload.cache_hit_rate(prometheus, settings)
            rates = {m.subject: m.value for m in result.measurements}
            return rates.get(domain) or 0.0

        # Pages are unchanged between two checks 30 s apart, but a URL answers 304 only from
        # its second check with caching on: the rate climbs as the window fills (slowly on a
        # loaded machine).
        rate = poll_until(hits, lambda r: r > 0.2, 180)
        assert rate > 0.2
        report = overload.cache_hit_rate(prometheus, settings)
        others = {m.subject: m.value for m in report.measurements if m.subject not in ("", domain)}
        assert others
        # no other shop answered from a cache (None: no request of it inside the window)
        assert not any(others.values()), others
    finally:
        assert main(["domains", "caching", domain, "off"]) == 0
        prometheus.close()
