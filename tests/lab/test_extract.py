"""The lab scrapers' extraction (opslib.extraction.extract) on the pages the shop renders."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest

from opslib.extraction import Pattern
from opslib.lab import LabSettings
from opslib.lab._catalog import catalog
from opslib.lab._control import Layout, initial_control
from opslib.lab._extract import extract_price
from opslib.lab._shop import page_layout, render_product


def test_standard_pages_give_the_shelf_price_with_high_confidence(tmp_path: Path) -> None:
    now = time.time()
    by_domain: dict[str, list[float]] = {}
    shapes = set()
    for product in catalog(LabSettings.for_tests(tmp_path, 40000)):
        if product.out_of_stock:
            continue
        page = render_product(product, "standard", now)
        shapes.add("json-ld" if "application/ld+json" in page else "script" if "__PRODUCT__" in
                   page else "microdata" if 'itemprop="price"' in page else "class")  # fmt: skip
        found = extract_price(page, product.currency, product.domain)
        assert found.price == Decimal(f"{product.price_at(now):.2f}")
        assert found.method in ("structured", "model")
        assert found.confidence is not None
        by_domain.setdefault(product.domain, []).append(found.confidence)
    assert shapes == {"json-ld", "script", "microdata", "class"}
    for domain, confidences in by_domain.items():
        assert sum(confidences) / len(confidences) > 0.85, domain


@pytest.mark.parametrize("layout", ["changed", "redesign"])
def test_changed_layouts_drop_the_confidence(tmp_path: Path, layout: Layout) -> None:
    now = time.time()
    for product in catalog(LabSettings.for_tests(tmp_path, 40000))[:30]:
        if product.out_of_stock:
            continue
        page = render_product(product, layout, now)
        assert 'itemprop="price"' not in page
        found = extract_price(page, product.currency)
        assert found.price == Decimal(f"{product.price_at(now):.2f}")
        assert found.confidence is not None
        assert found.confidence < 0.6


def test_a_domain_pattern_is_used(tmp_path: Path) -> None:
    product = next(p for p in catalog(LabSettings.for_tests(tmp_path, 40000)) if p.variant == 0
                   and not p.out_of_stock)  # fmt: skip
    page = render_product(product, "redesign", time.time())
    pattern = Pattern(".buy-box .row:first-child span", currency=product.currency)
    found = extract_price(page, product.currency, product.domain, {product.domain: pattern})
    assert (found.method, found.confidence) == ("pattern", 0.95)


def test_no_price_layout_yields_null(tmp_path: Path) -> None:
    product = catalog(LabSettings.for_tests(tmp_path, 40000))[0]
    found = extract_price(render_product(product, "noprice", time.time()), product.currency)
    assert (found.price, found.confidence, found.method) == (None, None, "none")


def test_missing_share_hides_a_stable_share_of_prices(tmp_path: Path) -> None:
    settings = LabSettings.for_tests(tmp_path, 40000)
    control = initial_control(settings)
    products = catalog(settings)
    healthy = sum(page_layout(p, control) == "noprice" for p in products) / len(products)
    assert healthy < 0.05
    control.missing_share = 0.7
    broken = [page_layout(p, control) == "noprice" for p in products]
    assert 0.6 < sum(broken) / len(products) < 0.8
    assert broken == [page_layout(p, control) == "noprice" for p in products]
