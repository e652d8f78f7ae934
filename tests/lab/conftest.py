"""One real lab per test session, always taken down again.

The session lab itself (fixtures ``lab`` and ``healthy_lab``) lives in tests/conftest.py so that
every test package shares one; build a separate one with :func:`tests.labkit.make_lab_settings`.
"""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from opslib.lab import LabSettings

# A healthy shop fails a product page now and then (its background error rate, under 2 %).
_RANDOM_ERRORS = {429, 500, 502, 503}


def product_page(settings: LabSettings, domain: str, product: int) -> httpx.Response:
    """``/product/N`` of ``domain``, asked again (up to 5 times) while the shop answers with one
    of its random errors; a shop in an error burst answers the same error every time."""
    for _ in range(5):
        response = httpx.get(
            f"http://127.0.0.1:{settings.shop_port}/product/{product}",
            headers={"Host": domain},
            timeout=5,
            trust_env=False,
        )
        if response.status_code not in _RANDOM_ERRORS:
            break
    return response


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Samples of a /metrics endpoint: (name, sorted labels) -> value."""
    text = httpx.get(url, timeout=3, trust_env=False).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def sample(url: str, name: str, **labels: str) -> float:
    """One sample of a /metrics endpoint (0 if absent)."""
    return scrape(url).get((name, tuple(sorted(labels.items()))), 0.0)


def prom_query(settings: LabSettings, query: str) -> list[dict[str, Any]]:
    """An instant query against the lab's Prometheus."""
    response = httpx.get(
        f"http://127.0.0.1:{settings.prometheus_port}/api/v1/query",
        params={"query": query},
        timeout=5,
        trust_env=False,
    )
    payload = response.json()
    assert payload["status"] == "success", payload
    result: list[dict[str, Any]] = payload["data"]["result"]
    return result
