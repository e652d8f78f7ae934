"""The extraction rules against the pages the lab's shop really renders."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest

from opslib.lab import LabSettings
from opslib.lab._catalog import catalog
from opslib.lab._control import initial_control
from opslib.lab._extract import extract_price, parse_amount
from opslib.lab._shop import page_layout, render_product


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("1 234,56 €", Decimal("1234.56")),
        ("£1,234.56", Decimal("1234.56")),
        ("EUR 12.34", Decimal("12.34")),
        ("12,34 zł", Decimal("12.34")),
        ("$7", Decimal("7")),
        ("free", None),
    ],
)
def test_parse_amount(text: str, amount: Decimal | None) -> None:
    assert parse_amount(text) == amount


def test_standard_pages_give_the_shelf_price_with_high_confidence(tmp_path: Path) -> None:
    now = time.time()
    for product in catalog(LabSettings.for_tests(tmp_path, 40000)):
        if product.out_of_stock:
            continue
        found = extract_price(render_product(product, "standard", now), product.currency)
        assert found.price == Decimal(f"{product.price_at(now):.2f}")
        assert found.method in ("microdata", "css")
        assert found.confidence is not None
        assert 0.9 <= found.confidence <= 0.99


def test_changed_layout_falls_back_to_the_heuristic(tmp_path: Path) -> None:
    now = time.time()
    for product in catalog(LabSettings.for_tests(tmp_path, 40000))[:30]:
        found = extract_price(render_product(product, "changed", now), product.currency)
        assert found.method == "heuristic"
        assert found.price == Decimal(f"{product.price_at(now):.2f}")
        assert found.confidence is not None
        assert 0.4 <= found.confidence <= 0.5


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
