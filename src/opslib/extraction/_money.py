"""Prices and currencies read by price-parser; symbols turned into ISO 4217 codes."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from price_parser import Price

__all__ = ["currency_code", "parse_amount", "parse_price"]

_MAX_AMOUNT = Decimal(10) ** 9

# What price-parser returns as the currency, upper-cased, mapped to ISO 4217. "$" and "kr" are
# ambiguous; they are read as the most common currency that writes them.
_SYMBOLS = {
    "$": "USD",
    "US$": "USD",
    "USD": "USD",
    "€": "EUR",
    "EUR": "EUR",
    "£": "GBP",
    "GBP": "GBP",
    "¥": "JPY",
    "円": "JPY",
    "JPY": "JPY",
    "￥": "JPY",
    "ZŁ": "PLN",
    "PLN": "PLN",
    "CHF": "CHF",
    "FR.": "CHF",
    "KR": "SEK",
    "SEK": "SEK",
    "NOK": "NOK",
    "DKK": "DKK",
    "R$": "BRL",
    "BRL": "BRL",
    "CA$": "CAD",
    "C$": "CAD",
    "CAD": "CAD",
    "A$": "AUD",
    "AU$": "AUD",
    "AUD": "AUD",
    "₹": "INR",
    "RS.": "INR",
    "INR": "INR",
    "₽": "RUB",
    "RUB": "RUB",
    "₩": "KRW",
    "KRW": "KRW",
    "KČ": "CZK",
    "CZK": "CZK",
    "MXN": "MXN",
    "CNY": "CNY",
    "RMB": "CNY",
    "TL": "TRY",
    "₺": "TRY",
}


def currency_code(raw: str | None) -> str | None:
    """The ISO 4217 code of a symbol or code as written on a page, or ``None``."""
    if not raw:
        return None
    key = raw.strip().upper()
    if key in _SYMBOLS:
        return _SYMBOLS[key]
    return key if len(key) == 3 and key.isalpha() else None


def parse_price(
    text: str, decimal_separator: str | None = None
) -> tuple[Decimal, str | None] | None:
    """``(amount, ISO currency or None)`` of a price as a shopper reads it, or ``None``."""
    price = Price.fromstring(text[:200], decimal_separator=decimal_separator)
    if price.amount is None or not _plausible(price.amount):
        return None
    return price.amount, currency_code(price.currency)


def parse_amount(value: object) -> Decimal | None:
    """A machine-written amount (``"1299.00"``, ``1299``, ``"1,299.00"``) as a Decimal."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            return None
        return amount if _plausible(amount) else None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        parsed = parse_price(text)
        return parsed[0] if parsed else None
    return amount if _plausible(amount) else None


def _plausible(amount: Decimal) -> bool:
    """A finite amount from 0 up to a billion: larger ones are ids, timestamps, garbage."""
    return amount.is_finite() and 0 <= amount < _MAX_AMOUNT
