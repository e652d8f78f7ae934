"""The lab worker's caching and the domains' patterns, against the lab's shop server on
127.0.0.1: a page held from before a pattern was deployed (or rolled back) is asked for whole,
so the pattern reads it; one read with the active pattern is asked for conditionally (304)."""

from __future__ import annotations

from pathlib import Path

import httpx

from opslib.extraction._generate import Sample, generate
from opslib.lab import LabSettings
from opslib.lab._catalog import catalog
from opslib.lab._extract import extract_price
from opslib.lab._shop import ShopServer
from opslib.lab._worker import HeldPage
from tests.lab.test_caching import shop

__all__ = ["shop"]  # the fixture: the shop server, a product page's URL, its Host header


def test_a_pattern_deployed_since_gets_the_whole_page(
    shop: tuple[ShopServer, str, dict[str, str]], tmp_path: Path
) -> None:
    _server, first_url, _host = shop
    # a product in stock (the first one may show no price)
    product = next(p for p in catalog(LabSettings.for_tests(tmp_path, 20000)) if not p.out_of_stock)
    url = f"{first_url.rsplit('/', 1)[0]}/{product.n}"
    domain = product.domain
    host = {"Host": domain}
    with httpx.Client(timeout=5) as client:

        def get(held: HeldPage, active: object) -> httpx.Response:
            return client.get(url, headers={**host, **held.conditions(active)})

        first = client.get(url, headers=host)
        alone = extract_price(first.content, "EUR", domain)
        assert alone.price is not None
        held = HeldPage(first.headers["etag"], first.headers["last-modified"], alone)
        assert get(held, None).status_code == 304  # no pattern then or now: the 304 stands

        pattern = generate([Sample("p", first.content, alone.price)], holdout=0).pattern
        assert pattern is not None
        whole = get(held, pattern)  # deployed since: the page again, for the pattern to read
        assert whole.status_code == 200
        read = extract_price(whole.content, "EUR", domain, {domain: pattern})
        assert (read.method, read.price) == ("pattern", alone.price)

        held = HeldPage(whole.headers["etag"], whole.headers["last-modified"], read, pattern)
        assert get(held, pattern).status_code == 304  # read with the active pattern
        assert get(held, None).status_code == 200  # rolled back: the engine reads it again
