"""``extract``: a domain's pattern, else the page's structured data and visible prices scored
by the price-element model. Bad input gives confidence 0 and a reason, never an exception."""

from __future__ import annotations

import re
from decimal import Decimal

from opslib.errors import ConfigError
from opslib.extraction._decode import MAX_PAGE_BYTES, decode_page
from opslib.extraction._types import Extraction, Method, Pattern

_MISSING: ImportError | None = None
try:
    from lxml import etree
    from lxml.cssselect import CSSSelector

    from opslib.extraction._model import PriceModel, default_model
    from opslib.extraction._money import parse_price
    from opslib.extraction._page import analyse, parse_document
except ImportError as exc:  # the lean install: extract() says which extra to add
    _MISSING = exc

__all__ = ["extract"]

# "$" and "kr" name several currencies; a shop's country domain tells which one it means.
_TLD_DOLLAR = {".ca": "CAD", ".au": "AUD", ".nz": "NZD", ".mx": "MXN", ".sg": "SGD", ".hk": "HKD"}
_AMBIGUOUS = frozenset({"USD", "SEK", "JPY"})  # what "$", "kr" and "¥" were read as
_TLD_KRONA = {".no": "NOK", ".dk": "DKK", ".se": "SEK", ".is": "ISK"}


def _require() -> None:
    if _MISSING is not None:
        raise ConfigError(
            f"price extraction needs the {_MISSING.name} package: pip install 'opslib[extraction]'"
        )


def _local_currency(currency: str | None, domain: str | None) -> str | None:
    if not domain or currency not in ("USD", "SEK"):
        return currency
    host = domain.lower().rstrip(".")
    table = _TLD_DOLLAR if currency == "USD" else _TLD_KRONA
    return next((code for tld, code in table.items() if host.endswith(tld)), currency)


def _apply_pattern(doc: etree._Element, pattern: Pattern) -> tuple[Decimal, str | None] | str:
    try:
        found = (
            CSSSelector(pattern.selector)(doc)
            if pattern.kind == "css"
            else doc.xpath(pattern.selector)
        )
    except (etree.XPathError, ValueError, SyntaxError) as exc:
        return f"pattern {pattern.selector!r} is invalid: {exc}"
    if isinstance(found, str) and found.strip():  # an XPath to a string: string(//td[2])
        found = [found]
    if not isinstance(found, list) or not found:
        return f"pattern {pattern.selector!r} matched nothing"
    first = found[0]
    if isinstance(first, etree._Element):
        text = (
            first.get(pattern.attribute)
            if pattern.attribute
            else "".join(str(t) for t in first.itertext())
        )
    else:
        text = str(first)
    if pattern.regex and text:
        try:
            found_in = re.search(pattern.regex, text[:100_000])
        except re.error as exc:
            return f"pattern regex {pattern.regex!r} is invalid: {exc}"
        if found_in:
            text = found_in.group(1) if found_in.re.groups else found_in.group(0)
    parsed = parse_price(text or "", pattern.decimal_separator) if text else None
    if parsed is None:
        return f"pattern {pattern.selector!r} matched {(text or '')[:40]!r}, not a price"
    return parsed[0], parsed[1] or pattern.currency


def extract(
    html: str | bytes,
    domain: str | None = None,
    *,
    url: str | None = None,
    pattern: Pattern | None = None,
    model: PriceModel | None = None,
    max_bytes: int = MAX_PAGE_BYTES,
) -> Extraction:
    """The price a shopper sees on ``html``, its currency and a calibrated confidence.

    Tries ``pattern`` (the domain's own; a pattern that matches nothing gives confidence 0),
    else scores the structured data and visible prices with the price-element model
    (``model``, default: the one shipped). ``url`` and ``domain`` only refine the currency.
    Raises ConfigError without the ``extraction`` extra; never on a bad page.
    """
    _require()
    if domain is None and url:
        domain = re.sub(r"^[a-z]+://([^/:?#]+).*$", r"\1", url, flags=re.I)
    decoded = decode_page(html, max_bytes)
    if decoded.problem:
        return Extraction(None, None, 0.0, "none", decoded.problem)
    note = f"page cut at {max_bytes / 1024 / 1024:g} MB" if decoded.truncated else None
    doc = parse_document(decoded.text)
    if doc is None:
        return Extraction(None, None, 0.0, "none", "not HTML: nothing to parse")
    if pattern is not None:
        got = _apply_pattern(doc, pattern)
        if isinstance(got, str):
            return Extraction(None, None, 0.0, "pattern", got)
        return Extraction(
            got[0], _local_currency(got[1], domain), pattern.confidence, "pattern", note
        )
    page = analyse(doc)
    decision = (model or default_model()).decide(page)
    if decision.value is None or decision.winner is None:
        return Extraction(None, None, decision.confidence, "none", note or "no price on the page")
    winner = decision.winner
    currency = next(
        (c.currency for c in page.candidates if c.value == decision.value and c.currency),
        page.facts.currency,
    )
    if page.facts.currency and currency in _AMBIGUOUS:
        currency = page.facts.currency  # "$" or "kr" on the page, the ISO code in its data
    method: Method = "model" if winner.source == "text" else "structured"
    return Extraction(
        decision.value, _local_currency(currency, domain), decision.confidence, method, note
    )
