"""Pages that are not what a scraper hoped for: a result with a reason, never an exception."""

from __future__ import annotations

import gzip
import random
import time
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opslib.extraction import MAX_PAGE_BYTES, extract
from tests.extraction.pages import page

PRODUCT = '<div class="price-block"><span class="price">{}</span></div>'


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty page"),
        (b"   \n\t ", "empty page"),
        (b'{"price": 12.5, "currency": "EUR"}', "not HTML"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "not HTML"),
        (gzip.compress(page(PRODUCT.format("$5.00")).encode()), "not HTML"),
        ("just some text with 12,99 € in it", "not HTML"),
    ],
    ids=["empty", "blank", "json", "png", "still-gzipped", "plain-text"],
)
def test_not_a_page(body: bytes | str, reason: str) -> None:
    got = extract(body)
    assert (got.price, got.confidence, got.method) == (None, 0.0, "none")
    assert got.reason is not None
    assert reason in got.reason


def test_a_50_mb_page_is_cut_in_bounded_time() -> None:
    filler = "<div><p>" + "lorem ipsum 42 " * 40 + "</p></div>"
    head = page(PRODUCT.format("$19.99")).split("</main>")[0] + "</main>"
    big = (head + filler * (50 * 1024 * 1024 // len(filler)) + "</body></html>").encode()
    assert len(big) >= 50 * 1024 * 1024
    started = time.monotonic()
    got = extract(big)
    assert time.monotonic() - started < 20
    assert got.price == Decimal("19.99")
    assert got.reason == f"page cut at {MAX_PAGE_BYTES // 1024 // 1024} MB"


@pytest.mark.parametrize(
    ("encoding", "shown", "declared"),
    [
        ("latin-1", "1.299,00 €".replace("€", "EUR"), True),
        ("cp1252", "1.299,00 €", True),
        ("cp1252", "1.299,00 €", False),
        ("shift_jis", "1,200円", True),
        ("utf-16", "1.299,00 €", False),
        ("utf-8-sig", "1.299,00 €", False),
    ],
    ids=["latin-1", "cp1252", "cp1252-undeclared", "shift_jis", "utf-16-bom", "utf-8-bom"],
)
def test_odd_encodings_are_read_from_the_bytes(encoding: str, shown: str, declared: bool) -> None:
    title = "デスクランプ「灯」" if encoding == "shift_jis" else "Lampe für Küche"
    html = page(PRODUCT.format(shown), title=title)
    if not declared:
        html = html.replace('<meta charset="utf-8">', "")
    else:
        html = html.replace('charset="utf-8"', f'charset="{encoding}"')
    got = extract(html.encode(encoding))
    assert got.price == Decimal("1200" if "円" in shown else "1299.00"), got
    assert got.currency == ("JPY" if "円" in shown else "EUR")


def test_the_same_price_in_several_places_is_one_answer() -> None:
    head = (
        '<meta property="product:price:amount" content="24.50">'
        '<script type="application/ld+json">{"@type": "Product", "offers": {"@type": "Offer",'
        ' "price": "24.50", "priceCurrency": "GBP"}}</script>'
    )
    block = '<div class="sticky"><span>£24.50</span></div>' + PRODUCT.format("£24.50")
    got = extract(page(block, head=head))
    assert (got.price, got.currency) == (Decimal("24.50"), "GBP")
    assert got.confidence > 0.9


@pytest.mark.parametrize(
    "html",
    [
        "<html><body><h1>Lamp</h1><span class='price'>$</span></body></html>",
        "<html><body><span class='price'>$1e309</span><span class='price'>NaN</span></body>",
        "<html><body><div class='price'>-$5.00</div></body></html>",
        "<html><body>" + "<div>" * 5000 + "$3.00" + "</div>" * 5000 + "</body></html>",
        '<?xml version="1.0" encoding="utf-8"?><html><body><span class="price">$2.00</span>',
        '<html><head><script type="application/ld+json">{not json</script></head><body></body>',
        '<html><head><script type="application/ld+json">[[[[1]]], null, "x"]</script></head>',
        '<html><head><meta charset="no-such-charset"></head><body>€ 3,00</body></html>',
        '<script type="application/ld+json">' + "[" * 100_000 + "]" * 100_000 + "</script>",
        '<script type="application/ld+json">' + '{"a":' * 900 + "{}" + "}" * 900 + "</script>",
    ],
    ids=["symbol-only", "huge-and-nan", "negative", "deep", "xml-declaration", "bad-json-ld",
         "odd-json-ld", "unknown-charset", "json-ld-too-deep", "json-ld-deep"],
)  # fmt: skip
def test_garbage_does_not_crash(html: str) -> None:
    got = extract(html)
    assert 0.0 <= got.confidence <= 1.0
    assert got.price is None or got.price >= 0


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=4000))
def test_any_bytes_give_a_result(data: bytes) -> None:
    got = extract(data)
    assert 0.0 <= got.confidence <= 1.0


def test_random_markup_soup_gives_a_result() -> None:
    rng = random.Random(3)
    parts = [
        "<div>",
        "</div>",
        "<span class='price'>",
        "$",
        "12",
        ".99",
        "<del>",
        "</s>",
        "<!--",
        "<script>",
        '{"price": 3}',
        "</script>",
        "€",
        "&amp;",
        "<h1>",
        "\x00",
        "\ud7ff",
    ]
    for _ in range(200):
        html = "<html><body>" + "".join(rng.choices(parts, k=60))
        got = extract(html)
        assert 0.0 <= got.confidence <= 1.0
