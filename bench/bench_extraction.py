"""Benchmark: ``opslib.extraction.extract`` against a plain BeautifulSoup-and-regex extractor.

Usage::

    python bench/bench_extraction.py [--synthetic 300] [--rounds 3] [--pages-dir DIR]

Both run on the same pages, one after the other, in this one process pinned to one core: the
dev set's real product pages (``../shared/dev-data/product-pages`` beside the repository, or
``--pages-dir``; the issue's target, at least 3x, is for these), then ``--synthetic`` generated
shop pages (a tenth of a real page's size, so fixed costs weigh more). The baseline parses with
bs4's ``html.parser`` and takes the first amount with a currency inside an element whose class
says "price", else anywhere in the text. Prints pages/s (CPU time, best of ``--rounds``), the
ratios and, for context, how often each was right on the synthetic pages. Last, a deployed
pattern: an XPath generated from labelled spec tables (the price known only by its "Price:"
label) applied by the engine, against bs4 finding the same label by hand.
"""

from __future__ import annotations

import argparse
import importlib
import os
import random
import re
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from opslib.extraction import Pattern, extract
from opslib.extraction._generate import Sample, generate
from opslib.extraction._money import parse_price
from opslib.extraction._synth import synthetic_page

ROOT = Path(__file__).resolve().parents[1]
_DEV = ROOT.parent / "shared" / "dev-data" / "product-pages"
_AMOUNT = re.compile(
    r"(?:[$€£¥₹]|zł|kr|CHF|USD|EUR)\s?\d[\d.,' ]*\d|\d[\d.,' ]*\d\s?(?:€|zł|kr|円|EUR|PLN)"
)
_PRICE_CLASS = re.compile("price", re.I)


def baseline(page: bytes) -> Decimal | None:
    """A plain extractor: bs4's html.parser, a price class, a currency-amount regex."""
    bs4: Any = importlib.import_module("bs4")
    soup = bs4.BeautifulSoup(page, "html.parser")
    for el in soup.find_all(class_=_PRICE_CLASS):
        found = _AMOUNT.search(el.get_text(" ", strip=True))
        if found:
            parsed = parse_price(found.group(0))
            return parsed[0] if parsed else None
    found = _AMOUNT.search(soup.get_text(" "))
    parsed = parse_price(found.group(0)) if found else None
    return parsed[0] if parsed else None


def engine(page: bytes) -> Decimal | None:
    """opslib's engine: structured data and visible prices scored by the model."""
    return extract(page).price


def _time(fn: Callable[[bytes], Decimal | None], pages: list[bytes], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for page in pages:
            fn(page)
        best = min(best, time.process_time() - started)
    return len(pages) / best


def _compare(title: str, pages: list[bytes], rounds: int) -> None:
    size = sum(len(p) for p in pages) / len(pages) / 1024
    ours = _time(engine, pages, rounds)
    theirs = _time(baseline, pages, rounds)
    print(f"{title}: {len(pages)} pages, {size:.0f} kB on average")
    print(f"  opslib.extraction     {ours:8.1f} pages/s")
    print(f"  bs4 + regex baseline  {theirs:8.1f} pages/s")
    print(f"  ratio                 {ours / theirs:8.2f}x")


_LABELS = ("List price:", "Price:", "Per 100 g:", "Shipping:")


def _table_page(rng: random.Random) -> tuple[bytes, Decimal]:
    """A product page whose spec table holds four prices in a random order, no class on any."""
    price = Decimal(rng.randrange(500, 90_000)) / 100
    values = dict(zip(_LABELS, (price * 5 / 4, price, price / 3, Decimal("4.95")), strict=True))
    order = rng.sample(_LABELS, len(_LABELS))
    rows = "".join(f"<tr><th>{k}</th><td>{values[k]:.2f} EUR</td></tr>" for k in order)
    nav = "".join(f"<li><a href='/c/{i}'>Category {i}</a></li>" for i in range(30))
    html = f"<html><body><ul>{nav}</ul><h1>Item</h1><table>{rows}</table></body></html>"
    return html.encode(), price.quantize(Decimal("0.01"))


def _by_label(page: bytes) -> Decimal | None:
    """What an operator writes by hand: bs4, the cell after the "Price:" header."""
    bs4: Any = importlib.import_module("bs4")
    label = bs4.BeautifulSoup(page, "html.parser").find("th", string="Price:")
    cell = label.find_next_sibling("td") if label else None
    parsed = parse_price(cell.get_text()) if cell else None
    return parsed[0] if parsed else None


def _pattern(rounds: int, count: int) -> None:
    rng = random.Random(11)
    pages = [_table_page(rng) for _ in range(count)]
    proposal = generate([Sample(str(i), h, p) for i, (h, p) in enumerate(pages[:10])])
    pattern: Pattern | None = proposal.pattern
    if pattern is None:
        print(f"deployed pattern: none generated ({proposal.reason})")
        return
    htmls = [h for h, _ in pages]
    ours = _time(lambda page: extract(page, pattern=pattern).price, htmls, rounds)
    alone = _time(engine, htmls, rounds)
    theirs = _time(_by_label, htmls, rounds)
    right = sum(extract(h, pattern=pattern).price == p for h, p in pages)
    print(f"deployed pattern ({pattern.kind} {pattern.selector}), {count} spec-table pages")
    print(f"  opslib.extraction + pattern {ours:8.1f} pages/s  ({right}/{count} right)")
    print(f"  opslib.extraction alone     {alone:8.1f} pages/s")
    print(f"  bs4 by the label, by hand   {theirs:8.1f} pages/s")
    print(f"  ratio (pattern / by hand)   {ours / theirs:8.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--synthetic", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pages-dir", type=Path, default=_DEV)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    rng = random.Random(7)
    synthetic = [synthetic_page(rng) for _ in range(args.synthetic)]
    real = sorted(args.pages_dir.glob("*.html")) if args.pages_dir.is_dir() else []
    print("extraction throughput, one core (CPU time, best of the rounds)")
    if real:
        _compare("real product pages (target >= 3x)", [p.read_bytes() for p in real], args.rounds)
    else:
        print(f"  no real pages in {args.pages_dir}: pass --pages-dir")
    _compare("synthetic shop pages", [s.html.encode() for s in synthetic], args.rounds)
    for name, fn in (("opslib.extraction", engine), ("bs4 + regex baseline", baseline)):
        right = sum(fn(s.html.encode()) == s.price for s in synthetic)
        print(f"  right on the synthetic pages: {name:<21} {right}/{len(synthetic)}")
    _pattern(args.rounds, args.synthetic)


if __name__ == "__main__":
    main()
