"""Price extraction as the lab's scrapers do it: rules tried in order, confidence by the rule.

``microdata`` (schema.org ``itemprop="price"``) is trusted most, then the ``span.price`` CSS
rule, then a heuristic that takes the first amount with a currency next to it (what a scraper
falls back to after a site changed its layout, hence its low confidence).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import lxml.etree
import lxml.html

__all__ = ["Extraction", "extract_price", "parse_amount"]

_CURRENCY = r"(?:€|£|\$|zł|kr|EUR|GBP|USD|PLN|SEK)"
_NUMBER = r"\d(?:[\d .,]*\d)?"
_AMOUNT = re.compile(rf"{_CURRENCY}\s?{_NUMBER}|{_NUMBER}\s?{_CURRENCY}")
_SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$", "PLN": "zł", "SEK": "kr"}
_PRICE_CLASS = "//span[contains(concat(' ', normalize-space(@class), ' '), ' price ')]"


@dataclass(frozen=True)
class Extraction:
    """What a page yielded; ``price`` is None when no rule found one."""

    price: Decimal | None
    confidence: float | None
    method: str
    currency: str | None = None


def parse_amount(text: str) -> Decimal | None:
    """``'1 234,56 €'``, ``'£1,234.56'``, ``'EUR 12.34'`` -> Decimal; None if no amount."""
    digits = re.sub(r"[^\d.,]", "", text)
    if not digits or not digits[0].isdigit():
        return None
    last_sep = max(digits.rfind(","), digits.rfind("."))
    if last_sep >= 0 and len(digits) - last_sep - 1 == 2:
        whole = re.sub(r"[.,]", "", digits[:last_sep])
        number = f"{whole}.{digits[last_sep + 1 :]}"
    else:
        number = re.sub(r"[.,]", "", digits)
    try:
        return Decimal(number)
    except InvalidOperation:
        return None


def _elements(doc: lxml.html.HtmlElement, path: str) -> list[lxml.html.HtmlElement]:
    found = doc.xpath(path)
    return (
        [e for e in found if isinstance(e, lxml.html.HtmlElement)]
        if isinstance(found, list)
        else []
    )


def _strings(doc: lxml.html.HtmlElement, path: str) -> list[str]:
    found = doc.xpath(path)
    return [str(e) for e in found] if isinstance(found, list) else []


def extract_price(page: str | bytes, expected_currency: str) -> Extraction:
    """The price on a product page and how sure the extractor is of it."""
    try:
        doc = lxml.html.fromstring(page)
    except (lxml.etree.ParserError, ValueError):
        return Extraction(None, None, "unparseable")
    if not isinstance(doc, lxml.html.HtmlElement):
        return Extraction(None, None, "unparseable")
    symbol = _SYMBOLS.get(expected_currency, expected_currency)
    for node in _elements(doc, "//*[@itemprop='price'][@content]"):
        price = parse_amount(str(node.get("content", "")))
        if price is None:
            continue
        confidence = 0.92
        if parse_amount(node.text_content()) == price:
            confidence += 0.04
        currencies = _strings(doc, "//meta[@itemprop='priceCurrency']/@content")
        if currencies and currencies[0] == expected_currency:
            confidence += 0.02
        if _elements(doc, "//*[contains(@class, 'was')]"):
            confidence -= 0.01  # a second amount on the page: a little less certain
        return Extraction(price, round(confidence, 2), "microdata", expected_currency)
    for node in _elements(doc, _PRICE_CLASS):
        text = node.text_content()
        price = parse_amount(text)
        if price is not None:
            confidence = 0.88 + (0.03 if symbol in text or expected_currency in text else 0)
            return Extraction(price, round(confidence, 2), "css", expected_currency)
    text = " ".join(body.text_content() for body in _elements(doc, "//body")) or doc.text_content()
    candidates = [parse_amount(m) for m in _AMOUNT.findall(text)]
    amounts = [c for c in candidates if c is not None]
    if amounts:
        confidence = {1: 0.5, 2: 0.45}.get(len(amounts), 0.4)
        return Extraction(amounts[0], confidence, "heuristic", expected_currency)
    return Extraction(None, None, "none")
