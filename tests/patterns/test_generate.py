"""Pattern generation on the lab shop's layouts and the synthetic pages; testing patterns."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from opslib.extraction import Pattern, extract
from opslib.extraction._generate import Sample, generate, settle_price, try_pattern
from opslib.extraction._synth import synthetic_page
from tests.patterns.pages import lab_samples


@pytest.mark.parametrize("layout", ["standard", "changed", "redesign"])
@pytest.mark.parametrize("shop", [0, 1, 2])
def test_generated_pattern_reads_every_held_out_page(layout: str, shop: int) -> None:
    samples = lab_samples(layout, shop)
    proposal = generate(samples, holdout=0.3, seed=shop)
    assert proposal.pattern is not None, proposal.reason
    assert proposal.training.passed
    assert len(proposal.held_out.pages) >= 5
    assert proposal.held_out.passed, proposal.held_out.failures
    assert 0.9 < proposal.pattern.confidence < 1


def test_standard_layout_needs_the_script_state_too() -> None:
    """A tenth of the standard pages hold the price only in a script's state: the pattern
    reads it with a regex, and finds no price on the out-of-stock pages."""
    samples = lab_samples("standard")
    if not any("<script>window." in str(s.html) for s in samples):
        pytest.skip("this lab shop has no page with the price in a script's state")
    proposal = generate(samples, holdout=0.3)
    assert proposal.pattern is not None
    assert proposal.pattern.regex is not None
    assert "price" in proposal.pattern.regex


def test_pattern_of_one_layout_fails_on_the_other() -> None:
    standard = generate(lab_samples("standard"), holdout=0.3).pattern
    changed = generate(lab_samples("changed"), holdout=0.3).pattern
    assert standard is not None
    assert changed is not None
    assert (try_pattern(standard, lab_samples("changed")).accuracy or 0) < 0.2
    assert (try_pattern(changed, lab_samples("standard")).accuracy or 0) < 0.2


def test_most_general_selector_is_chosen() -> None:
    pattern = generate(lab_samples("changed"), holdout=0.3).pattern
    assert pattern is not None
    # one class (".row" or ".pdp-amount"), not ".pdp-amount .row span" nor the whole offer
    assert pattern.selector.startswith(".")
    assert " " not in pattern.selector
    assert pattern.selector != ".offer"


def test_synthetic_pages_one_by_one() -> None:
    """On each synthetic page alone (many shapes, many formats), a pattern is found that
    reads its price: at least 95 % of the pages with a price."""
    rng = random.Random(12)
    pages = [p for p in (synthetic_page(rng) for _ in range(200)) if p.price is not None]
    found = 0
    for p in pages:
        proposal = generate([Sample("p", p.html, p.price)], holdout=0)
        if (
            proposal.pattern is not None
            and extract(p.html, pattern=proposal.pattern).price == p.price
        ):
            found += 1
    assert found / len(pages) >= 0.95, f"{found}/{len(pages)}"


def test_no_selector_for_pages_that_disagree() -> None:
    a = Sample("a", '<div class="x">12.00</div><div class="y">9.00</div>', Decimal("12.00"))
    b = Sample("b", '<div class="x">5.00</div><div class="y">7.00</div>', Decimal("7.00"))
    c = Sample("c", '<p class="x">3.00</p><p class="y">1.00</p>', Decimal("1.00"))
    proposal = generate([a, b, c], holdout=0)
    assert proposal.pattern is None
    assert "no selector" in proposal.reason


@pytest.mark.parametrize("html", [b"", b"\x00\x01\x02 binary", "<html></html>", "%PDF-1.4"])
def test_bad_pages_give_no_pattern_and_no_crash(html: bytes | str) -> None:
    proposal = generate([Sample("bad", html, Decimal("10.00"))], holdout=0)
    assert proposal.pattern is None


def test_settle_price_reads_what_the_page_shows() -> None:
    page = '<span class="p">19,99 €</span><span class="was">24,99 €</span>'
    settled = settle_price(Sample("x", page, Decimal("20.05")), 0.01)
    assert settled is not None
    assert settled.price == Decimal("19.99")
    assert settle_price(Sample("x", page, Decimal("30.00")), 0.01) is None


def test_regex_pattern_in_the_engine() -> None:
    page = '<div id="app"></div><script>window.S = {"sku": "000009", "price": 7.17};</script>'
    pattern = Pattern("#app + script", regex=r'"price"\s*:\s*(\d+(?:\.\d+)?)', currency="EUR")
    got = extract(page, "shop.test", pattern=pattern)
    assert (got.price, got.currency, got.method) == (Decimal("7.17"), "EUR", "pattern")
    bad = extract(page, pattern=Pattern("script", regex="(("))
    assert bad.price is None
    assert bad.confidence == 0
    assert "invalid" in (bad.reason or "")
