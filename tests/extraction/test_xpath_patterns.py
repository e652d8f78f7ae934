"""XPath patterns: generated when no CSS selector generalises over the samples (the price
element known only by the label beside it), applied by the engine, through the commands."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path

import pytest

from opslib.cli import main
from opslib.extraction import Pattern, extract
from opslib.extraction._generate import Sample, generate
from tests.dbkit import TestDatabase
from tests.patterns.pages import write_dir

LABELS = ("List price:", "Price:", "Per 100 g:", "Shipping:")


def _table_page(n: int, rng: random.Random) -> Sample:
    """A spec table of four prices in a random order, no class, id or itemprop on any."""
    price = Decimal(rng.randrange(500, 90_000)) / 100
    values = {
        "List price:": price * Decimal("1.25"),
        "Price:": price,
        "Per 100 g:": price / 3,
        "Shipping:": Decimal("4.95"),
    }
    order = list(LABELS)
    rng.shuffle(order)
    rows = "".join(f"<tr><th>{label}</th><td>{values[label]:.2f} EUR</td></tr>" for label in order)
    html = f"<html><body><h1>Item {n}</h1><table>{rows}</table></body></html>"
    return Sample(f"p{n}.html", html, price.quantize(Decimal("0.01")), "EUR")


def _pages(count: int, seed: int) -> list[Sample]:
    rng = random.Random(seed)
    return [_table_page(n, rng) for n in range(count)]


def test_a_label_beside_the_price_gives_an_xpath() -> None:
    proposal = generate(_pages(12, 1), holdout=0.3)
    assert proposal.pattern is not None, proposal.reason
    assert proposal.pattern.kind == "xpath"
    assert "Price:" in proposal.pattern.selector
    assert proposal.passed
    assert len(proposal.held_out.pages) == 3
    # pages it never saw, each row order
    for page in _pages(20, 2):
        assert extract(page.html, pattern=proposal.pattern).price == page.price


@pytest.mark.parametrize(
    ("template", "label"),
    [
        (
            "<dl><dt>Was</dt><dd><span>{was} €</span></dd><dt>Now</dt><dd><span>{now} €</span>"
            "</dd></dl>",
            "Now",
        ),
        ("<p>Was: <b>{was} €</b></p><p>Our price: <b>{now} €</b></p>", "Our price:"),
    ],
    ids=["definition-list", "text-before"],
)
def test_other_label_shapes(template: str, label: str) -> None:
    samples = []
    for n in range(6):
        now = Decimal(100 + 7 * n)
        was = now + 10
        body = template.format(was=was, now=now) if n % 2 else _swap(template, was, now)
        samples.append(Sample(f"p{n}", f"<html><body>{body}</body></html>", now))
    proposal = generate(samples, holdout=0)
    assert proposal.pattern is not None, proposal.reason
    assert proposal.pattern.kind == "xpath"
    assert label in proposal.pattern.selector
    assert proposal.training.passed


def _swap(template: str, was: Decimal, now: Decimal) -> str:
    """The template with its two labelled prices in the other order."""
    if "<dl>" in template:
        return (
            f"<dl><dt>Now</dt><dd><span>{now} €</span></dd>"
            f"<dt>Was</dt><dd><span>{was} €</span></dd></dl>"
        )
    return f"<p>Our price: <b>{now} €</b></p><p>Was: <b>{was} €</b></p>"


def test_css_is_kept_when_a_selector_generalises() -> None:
    samples = [
        Sample(
            f"p{n}",
            "<html><body><table><tr><th>Price:</th>"
            f'<td class="now">{n + 10}.50 €</td></tr></table></body></html>',
            Decimal(f"{n + 10}.50"),
        )
        for n in range(5)
    ]
    proposal = generate(samples, holdout=0)
    assert proposal.pattern is not None
    assert proposal.pattern.kind == "css"


def test_the_engine_applies_xpath_patterns() -> None:
    page = (
        '<html><head><meta itemprop="price" content="19.90"></head><body>'
        "<table><tr><th>Price:</th><td>24,90 €</td></tr></table></body></html>"
    )

    def read(selector: str) -> tuple[Decimal | None, float, str | None]:
        got = extract(page, "shop.test", pattern=Pattern(selector, kind="xpath", currency="EUR"))
        return got.price, got.confidence, got.reason

    assert read("//td[preceding-sibling::*[1][normalize-space()='Price:']]")[0] == Decimal("24.90")
    assert read("//meta[@itemprop='price']/@content")[0] == Decimal("19.90")
    assert read("string(//table//td)")[0] == Decimal("24.90")
    price, confidence, reason = read("//td[@class='gone']")
    assert (price, confidence) == (None, 0.0)
    assert "matched nothing" in str(reason)
    price, confidence, reason = read("//td[")
    assert (price, confidence) == (None, 0.0)
    assert "invalid" in str(reason)


def test_generate_test_deploy_an_xpath_from_the_command_line(
    env: TestDatabase, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pages = write_dir(tmp_path / "pages", _pages(10, 3))
    capsys.readouterr()
    assert main(["patterns", "generate", "table.test", "--pages", str(pages), "--json"]) == 0
    proposal = json.loads(capsys.readouterr().out)
    assert proposal["passed"], proposal
    pattern = proposal["pattern"]
    assert pattern["kind"] == "xpath"
    fresh = write_dir(tmp_path / "fresh", _pages(8, 4))
    given = ["--selector", pattern["selector"], "--xpath"]
    assert main(["patterns", "test", "table.test", *given, "--pages", str(fresh)]) == 0
    assert main(["patterns", "reference", "import", "table.test", str(fresh)]) == 0
    assert main(["patterns", "deploy", "table.test", *given]) == 0
    capsys.readouterr()
    assert main(["--json", "patterns", "show", "table.test"]) == 0
    shown = capsys.readouterr().out
    assert '"xpath"' in shown
    assert main(["patterns", "verify", "table.test"]) == 0
