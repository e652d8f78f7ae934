"""Price extraction as the lab's scrapers do it: :func:`opslib.extraction.extract`.

The engine reads the page's structured data (JSON-LD, microdata, script state) and scores its
visible prices with the price-element model; its calibrated confidence is what the scrapers
store, so a shop that changes its template shows as a confidence drop. A domain's active
pattern is used when one is given (``patterns``: domain -> :class:`~opslib.extraction.Pattern`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from opslib.extraction import Pattern, extract

__all__ = ["Extraction", "extract_price"]


@dataclass(frozen=True)
class Extraction:
    """What a page yielded as the scrapers store it: ``price`` and ``confidence`` are None
    when the engine found no price (``method`` is then ``none``)."""

    price: Decimal | None
    confidence: float | None
    method: str
    currency: str | None = None


def extract_price(
    page: str | bytes,
    expected_currency: str,
    domain: str | None = None,
    patterns: Mapping[str, Pattern] | None = None,
) -> Extraction:
    """The price on a product page and how sure the engine is of it."""
    pattern = (patterns or {}).get(domain or "")
    found = extract(page, domain, pattern=pattern)
    if found.price is None:
        return Extraction(None, None, "none")
    return Extraction(
        found.price, round(found.confidence, 3), found.method, found.currency or expected_currency
    )
