"""Pages with known prices for the pattern tests: the lab shop's renderer, per layout."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from opslib.extraction._generate import Sample
from opslib.lab._catalog import Product, catalog
from opslib.lab._settings import LabSettings
from opslib.lab._shop import render_product

EPOCH = 1_800_000_000.0


def products(domain_index: int = 0) -> list[Product]:
    every = catalog(LabSettings())
    domain = every[domain_index].domain
    return [p for p in every if p.domain == domain]


def price(p: Product) -> Decimal | None:
    return None if p.out_of_stock else Decimal(f"{p.price_at(EPOCH):.2f}")


def lab_samples(layout: str, domain_index: int = 0) -> list[Sample]:
    """Every product page of one lab shop in ``layout`` (out-of-stock pages have no price)."""
    return [
        Sample(
            f"product-{p.n}.html",
            render_product(p, "noprice" if p.out_of_stock else layout, EPOCH),  # type: ignore[arg-type]
            price(p),
            p.currency,
        )
        for p in products(domain_index)
    ]


def write_dir(directory: Path, samples: list[Sample]) -> Path:
    """``samples`` as a page directory with expected.json (as ``models evaluate`` reads it)."""
    directory.mkdir(parents=True, exist_ok=True)
    expected = {}
    for s in samples:
        html = s.html if isinstance(s.html, bytes) else s.html.encode()
        (directory / s.name).write_bytes(html)
        expected[s.name] = {
            "price": None if s.price is None else str(s.price),
            "currency": s.currency,
        }
    (directory / "expected.json").write_text(json.dumps(expected))
    return directory
