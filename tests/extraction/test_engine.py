"""``extract`` on each page shape: where the price is written, and which of several prices."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from opslib.errors import ConfigError
from opslib.extraction import Extraction, Pattern, extract
from tests.extraction.pages import ld, page

OFFER = {"@type": "Offer", "price": "129.99", "priceCurrency": "USD"}


def _product(offers: object) -> dict[str, object]:
    return {"@context": "https://schema.org", "@type": "Product", "name": "Lamp", "offers": offers}


def _check(got: Extraction, price: str | None, currency: str | None = None) -> None:
    __tracebackhide__ = True
    assert got.price == (Decimal(price) if price is not None else None), got
    if currency is not None:
        assert got.currency == currency, got
    assert 0.0 <= got.confidence <= 1.0


@pytest.mark.parametrize(
    "offers",
    [
        OFFER,
        [OFFER],
        {"@type": "AggregateOffer", "lowPrice": 129.99, "highPrice": "199.00",
         "priceCurrency": "USD"},
        {"@type": "Offer", "priceCurrency": "USD", "priceSpecification": [
            {"@type": "UnitPriceSpecification", "price": "129.99"},
            {"@type": "UnitPriceSpecification", "priceType": "https://schema.org/ListPrice",
             "price": "159.99"}]},
    ],
    ids=["offer", "offer-list", "aggregate-offer", "price-specification"],
)  # fmt: skip
def test_json_ld_only(offers: object) -> None:
    got = extract(page("<p>Ships in 2 days.</p>", head=ld(_product(offers))))
    _check(got, "129.99", "USD")
    assert got.method == "structured"


def test_json_ld_in_a_graph() -> None:
    graph = {"@context": "https://schema.org",
             "@graph": [{"@type": "WebPage", "name": "Lamp"}, _product(OFFER)]}  # fmt: skip
    _check(extract(page("", head=ld(graph))), "129.99", "USD")


def test_microdata_only() -> None:
    product = (
        '<div itemscope itemtype="https://schema.org/Product"><div itemprop="offers" itemscope'
        ' itemtype="https://schema.org/Offer"><span itemprop="price" content="54.90">54,90 €'
        '</span><meta itemprop="priceCurrency" content="EUR"></div></div>'
    )
    _check(extract(page(product)), "54.90", "EUR")


def test_open_graph_meta_only() -> None:
    head = (
        '<meta property="product:price:amount" content="17.99">'
        '<meta property="product:price:currency" content="USD">'
    )
    _check(extract(page("", head=head)), "17.99", "USD")


def test_price_in_a_script_state() -> None:
    state = {"product": {"sku": "A1", "price": {"original": "150.00", "sale": "120.00"}}}
    script = f"<script>window.__STATE__ = {json.dumps(state)};</script>"
    _check(extract(page(script)), "120.00")


def test_the_sale_price_not_the_struck_list_price() -> None:
    block = (
        '<div class="price-block"><span>Was <del class="price-was">$159.99</del></span>'
        '<span class="price">$129.99</span><span class="savings">You save $30.00 (19%)</span>'
        '<span class="unit-price">($32.50 / each)</span></div>'
        '<p class="shipping">Shipping: $4.99</p>'
    )
    got = extract(page(block))
    _check(got, "129.99", "USD")
    assert got.method == "model"


def test_a_stale_json_ld_list_price_loses_to_the_sale_on_the_page() -> None:
    stale = _product({"@type": "Offer", "price": "159.99", "priceCurrency": "USD"})
    block = '<div class="price-block"><s>$159.99</s> <span class="price">$129.99</span></div>'
    _check(extract(page(block, head=ld(stale))), "129.99")


@pytest.mark.parametrize(
    ("shown", "price", "currency"),
    [
        ("1.299,00 €", "1299.00", "EUR"),
        ("$1,299", "1299", "USD"),
        ("£12", "12", "GBP"),
        ("12,99 zł", "12.99", "PLN"),
        ("¥1,200", "1200", "JPY"),
        ("CHF 1'299.00", "1299.00", "CHF"),
        ("R$ 1.299,00", "1299.00", "BRL"),
    ],
)
def test_formats_and_currencies(shown: str, price: str, currency: str) -> None:
    _check(extract(page(f'<div class="product-price"><span>{shown}</span></div>')), price, currency)


def test_a_dollar_on_a_canadian_domain_is_canadian() -> None:
    got = extract(page('<span class="price">$49.00</span>'), "shop.example.ca")
    _check(got, "49.00", "CAD")


@pytest.mark.parametrize(
    "block",
    [
        '<div class="price-block">See price in cart</div>',
        '<div class="availability">This item is no longer available</div>',
        '<div class="price-block">Call for pricing</div>',
    ],
    ids=["price-in-cart", "gone", "on-request"],
)
def test_no_price_on_the_page(block: str) -> None:
    got = extract(page(block))
    _check(got, None)
    assert got.method == "none"
    assert got.reason


def test_the_given_pattern_is_tried_first() -> None:
    html = page('<div class="box"><b id="p">1.299,00 €</b></div>')
    got = extract(html, pattern=Pattern("#p", decimal_separator=","))
    _check(got, "1299.00", "EUR")
    assert (got.method, got.confidence) == ("pattern", 0.95)
    xpath = Pattern("//meta[@name='amount']/@content", kind="xpath", currency="EUR")
    _check(extract(page("", head='<meta name="amount" content="8.50">'), pattern=xpath), "8.50")
    attr = Pattern("span.p", attribute="data-price", currency="GBP")
    _check(extract(page('<span class="p" data-price="3.20">x</span>'), pattern=attr), "3.20", "GBP")


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (Pattern(".gone"), "matched nothing"),
        (Pattern("//*[", kind="xpath"), "is invalid"),
        (Pattern("h1"), "not a price"),
    ],
    ids=["no-match", "bad-xpath", "not-a-price"],
)
def test_a_pattern_that_fails_gives_confidence_0_and_a_reason(
    pattern: Pattern, reason: str
) -> None:
    got = extract(page('<span class="price">$5.00</span>', title="Lamp"), pattern=pattern)
    assert (got.price, got.confidence, got.method) == (None, 0.0, "pattern")
    assert got.reason is not None
    assert reason in got.reason


def test_a_url_gives_the_domain() -> None:
    got = extract(page('<span class="price">$9.00</span>'), url="https://www.shop.example.com.au/p")
    assert got.currency == "AUD"


def test_without_the_extra_the_error_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from opslib.extraction import _engine

    monkeypatch.setattr(_engine, "_MISSING", ImportError("no", name="price_parser"))
    with pytest.raises(ConfigError, match=r"pip install 'opslib\[extraction\]'"):
        extract("<html></html>")


def test_an_ambiguous_symbol_takes_the_currency_the_structured_data_names() -> None:
    head = '<meta property="product:price:currency" content="AUD">'
    got = extract(page('<span class="price">$49.00</span>', head=head))
    assert (got.price, got.currency) == (Decimal("49.00"), "AUD")


def test_rdfa_only() -> None:
    product = (
        '<div vocab="https://schema.org/" typeof="Product"><div property="offers" typeof="Offer">'
        '<span property="price" content="1299.00">1.299,00</span>'
        '<meta property="priceCurrency" content="EUR"></div></div>'
    )
    _check(extract(page(product)), "1299.00", "EUR")
