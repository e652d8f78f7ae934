"""Prices and currencies as shops write them, read by price-parser."""

from __future__ import annotations

from decimal import Decimal

import pytest

from opslib.extraction._decode import decode_page
from opslib.extraction._money import currency_code, parse_amount, parse_price


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("1.299,00 €", "1299.00", "EUR"),
        ("$1,299", "1299", "USD"),
        ("£12", "12", "GBP"),
        ("12,99 zł", "12.99", "PLN"),
        ("¥1,200", "1200", "JPY"),
        ("1,200円", "1200", "JPY"),
        ("1 299 kr", "1299", "SEK"),
        ("CA$1,299.00", "1299.00", "CAD"),
        ("₹1,299", "1299", "INR"),
        ("48,00", "48.00", None),
    ],
)
def test_parse_price(text: str, amount: str, currency: str | None) -> None:
    assert parse_price(text) == (Decimal(amount), currency)


@pytest.mark.parametrize(
    ("value", "amount"),
    [("1299.00", "1299.00"), (1299, "1299"), (12.5, "12.5"), ("48,00", "48.00"), ({}, None),
     (None, None), (True, None), ("", None), ("-3", None), ("nan", None), ("inf", None),
     ("9e999999999999999999", None), (10**12, None), ("0", "0")],
)  # fmt: skip
def test_parse_amount(value: object, amount: str | None) -> None:
    assert parse_amount(value) == (Decimal(amount) if amount else None)


def test_currency_codes() -> None:
    assert [currency_code(s) for s in ("€", "usd", "zł", "XYZ", "kr.", "", None)] == [
        "EUR", "USD", "PLN", "XYZ", None, None, None,
    ]  # fmt: skip


def test_a_multibyte_character_cut_by_the_limit_is_not_a_reason_for_cp1252() -> None:
    data = ("<html><body>" + "é" * 10).encode()
    decoded = decode_page(data, max_bytes=len(data) - 1)
    assert (decoded.encoding, decoded.truncated) == ("utf-8", True)
