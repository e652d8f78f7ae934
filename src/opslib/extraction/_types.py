"""The values of the extraction engine: a result and a per-domain pattern."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

__all__ = ["Extraction", "Method", "Pattern"]

Method = Literal["pattern", "structured", "model", "none"]
"""Where the price was read: a domain's pattern, the page's structured data, the model."""


@dataclass(frozen=True)
class Extraction:
    """The price a shopper sees on a page, its currency and how sure the engine is.

    ``confidence`` is the calibrated probability that the answer (a price, or ``None`` for a
    page without one) is right; 0 with a ``reason`` when the page could not be read.
    """

    price: Decimal | None
    currency: str | None
    confidence: float
    method: Method
    reason: str | None = None

    @property
    def found(self) -> bool:
        """A price was extracted."""
        return self.price is not None


@dataclass(frozen=True)
class Pattern:
    """A domain's selector for its price element, with the options to parse what it selects.

    ``kind`` says how ``selector`` is read (CSS or XPath); ``attribute`` reads an attribute of
    the first match instead of its text; ``currency`` is the domain's currency when the text
    shows none; ``decimal_separator`` overrides the guess ("," on "1.299,00"). ``regex``, when
    it matches the text read (a script's state, say), narrows it to its first group; when it
    does not, the whole text is read. ``confidence`` is what a match is reported with: the
    accuracy the pattern had when it was tested.
    """

    selector: str
    kind: Literal["css", "xpath"] = "css"
    attribute: str | None = None
    currency: str | None = None
    decimal_separator: str | None = None
    confidence: float = 0.95
    regex: str | None = None
