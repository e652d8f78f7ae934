"""Propose a domain's pattern from sample pages with known prices, and test patterns on pages.

``generate`` finds, on each training page, the elements that hold the known price (their text,
or a machine-readable attribute such as ``content``), derives CSS selectors for them (a class,
an itemprop, a tag, an ancestor's class, ...), and keeps the most general selector (fewest
parts) whose first match gives the known price on every training page and nothing on the
pages without a price. When no CSS selector (nor a group of a few) does, it proposes an XPath
that finds the price element by the label beside it ("Price:" in the cell, term or text just
before it), as a table of several prices often needs. ``try_pattern`` runs a pattern through
:func:`extract` on pages, as a scraper would, and counts the pages it gets right.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Literal

from opslib.errors import ConfigError
from opslib.extraction._decode import decode_page
from opslib.extraction._engine import extract
from opslib.extraction._types import Pattern

__all__ = ["PageCheck", "PatternTest", "Proposal", "Sample", "generate", "try_pattern"]

_SKIP = frozenset({"script", "style", "head", "title", "noscript", "template", "svg"})
_ATTRIBUTES = ("content", "data-price", "data-price-amount", "value")
_MAX_TEXT = 80
_MAX_CANDIDATES = 400
_MAX_PARTS = 4
_CLASS_OK = re.compile(r"^[A-Za-z_][\w-]{0,60}$")


@dataclass(frozen=True)
class Sample:
    """A page and the price a shopper sees on it (None: the page has no price)."""

    name: str
    html: bytes | str
    price: Decimal | None
    currency: str | None = None


@dataclass(frozen=True)
class PageCheck:
    name: str
    expected: Decimal | None
    got: Decimal | None
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.expected == self.got


@dataclass(frozen=True)
class PatternTest:
    """A pattern's answers on pages: how many it got right, and which it got wrong."""

    pages: tuple[PageCheck, ...]

    @property
    def right(self) -> int:
        return sum(p.ok for p in self.pages)

    @property
    def accuracy(self) -> float | None:
        return self.right / len(self.pages) if self.pages else None

    @property
    def failures(self) -> tuple[PageCheck, ...]:
        return tuple(p for p in self.pages if not p.ok)

    @property
    def passed(self) -> bool:
        return bool(self.pages) and not self.failures


@dataclass(frozen=True)
class Proposal:
    """A generated pattern, what it was fitted on, and its test on the held-out pages."""

    pattern: Pattern | None
    training: PatternTest
    held_out: PatternTest
    tried: int
    reason: str = ""
    train_names: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        """Found, right on every training page and on every held-out page (if any)."""
        return (
            self.pattern is not None
            and self.training.passed
            and (not self.held_out.pages or self.held_out.passed)
        )


def try_pattern(
    pattern: Pattern, samples: Iterable[Sample], domain: str | None = None
) -> PatternTest:
    """Run ``pattern`` through the engine on each sample; a page is right when the price read
    equals the known one (as decimals), or when neither exists."""
    checks = []
    for s in samples:
        got = extract(s.html, domain, pattern=pattern)
        checks.append(PageCheck(s.name, s.price, got.price, got.reason))
    return PatternTest(tuple(checks))


def _parse(html: bytes | str) -> Any:
    from opslib.extraction._page import parse_document

    decoded = decode_page(html)
    if decoded.problem:
        return None
    return parse_document(decoded.text)


def _text(el: Any) -> str:
    return " ".join("".join(el.itertext()).split())


def _close(a: Decimal, b: Decimal, tolerance: float) -> bool:
    if tolerance <= 0:
        return a == b
    return abs(a - b) <= abs(b) * Decimal(str(tolerance))


_NUMBER = re.compile(r"\d[\d.,'\u00a0\u202f ]*")
_KEYED = re.compile(r"""["']?([A-Za-z_][\w-]{0,40})["']?\s*[:=]\s*["']?(\d+(?:[.,]\d+)?)""")

Holder = tuple[Any, str | None, str | None]
"""An element holding the price, the attribute it is in (or None: its text), and the regex
that reads it out of a script (or None)."""


def _holders(doc: Any, price: Decimal, tolerance: float) -> list[tuple[Holder, int]]:
    """The elements of ``doc`` that hold ``price``, each with how many elements it holds
    (an element whose whole text is the price, the smaller the better)."""
    from opslib.extraction._money import parse_amount, parse_price

    found: list[tuple[Holder, int]] = []
    for el in doc.iter():
        tag = el.tag
        if not isinstance(tag, str):
            continue
        if tag == "script":
            found.extend(((el, None, rx), 0) for rx in _script_regexes(el, price, tolerance))
            continue
        if tag in _SKIP or any(
            a.tag in _SKIP for a in el.iterancestors() if isinstance(a.tag, str)
        ):
            continue
        text = _text(el)
        if text and len(text) <= _MAX_TEXT and len(_NUMBER.findall(text)) == 1:
            parsed = parse_price(text)
            if parsed is not None and _close(parsed[0], price, tolerance):
                found.append(((el, None, None), sum(1 for _ in el.iterdescendants())))
        for attr in _ATTRIBUTES:
            value = el.get(attr)
            amount = parse_amount(value) if value else None
            if amount is not None and _close(amount, price, tolerance):
                found.append(((el, attr, None), 0))
    return found


def _script_regexes(el: Any, price: Decimal, tolerance: float) -> list[str]:
    """Regexes reading ``price`` out of a script's state by its key ("price": 7.17)."""
    text = (el.text or "")[:200_000]
    out = []
    for m in _KEYED.finditer(text):
        try:
            value = Decimal(m.group(2).replace(",", "."))
        except ArithmeticError:
            continue
        if _close(value, price, tolerance):
            key = re.escape(m.group(1))
            rx = rf"""["']?{key}["']?\s*[:=]\s*["']?(\d+(?:[.,]\d+)?)"""
            if rx not in out:
                out.append(rx)
    return out


def _tokens(el: Any) -> list[tuple[str, float]]:
    """Simple selectors naming ``el`` alone, with a cost (class < itemprop < id)."""
    out: list[tuple[str, float]] = []
    for cls in (el.get("class") or "").split():
        if _CLASS_OK.match(cls):
            out.append((f".{cls}", 1.0))
    itemprop = el.get("itemprop")
    if itemprop and _CLASS_OK.match(itemprop):
        out.append((f'[itemprop="{itemprop}"]', 1.1))
    ident = el.get("id")
    if ident and _CLASS_OK.match(ident) and not re.search(r"\d", ident):
        out.append((f"#{ident}", 1.2))
    return out


def _selectors(el: Any) -> dict[str, float]:
    """CSS selectors for ``el``, each with its cost: the number of parts, roughly."""
    tag = str(el.tag)
    own = _tokens(el)
    out: dict[str, float] = {}

    def put(selector: str, cost: float) -> None:
        if cost < out.get(selector, 99.0):
            out[selector] = cost

    for tok, cost in own:
        put(tok, cost)
        put(f"{tag}{tok}", cost + 1)
    ancestors = [a for a in el.iterancestors() if isinstance(a.tag, str)][:3]
    for depth, anc in enumerate(ancestors):
        for atok, acost in _tokens(anc):
            put(f"{atok} {tag}", acost + 1.5 + depth * 0.2)
            if depth == 0:
                put(f"{atok} > {tag}", acost + 1.6)
            for tok, cost in own:
                put(f"{atok} {tok}", acost + cost + 0.5 + depth * 0.2)
    prev = el.getprevious()
    if prev is not None and isinstance(prev.tag, str):
        for ptok, pcost in _tokens(prev):
            put(f"{ptok} + {tag}", pcost + 1.4)
    put(tag, 2.5)  # a bare tag: only if nothing more telling works
    return out


_LABEL_MAX = 40
_LABEL_DEPTH = 3  # the element and this many ancestors may carry the label


def _label(text: str | None) -> str | None:
    """``text`` as a label (a few words, no figure), spaces normalised; else None."""
    words = " ".join((text or "").split())
    if not words or len(words) > _LABEL_MAX or re.search(r"\d", words):
        return None
    return words


def _literal(text: str) -> str | None:
    """``text`` as an XPath string literal (None if it holds both kinds of quote)."""
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    return None


def _xpaths(el: Any) -> dict[str, float]:
    """XPaths finding ``el`` by the label just before it (or before one of its ancestors): the
    previous sibling element's whole text, or the text right before it, e.g.
    ``//td[preceding-sibling::*[1][normalize-space()='Price:']]``; with the path down to
    ``el`` from the labelled ancestor."""
    out: dict[str, float] = {}
    below = ""
    node = el
    for depth in range(_LABEL_DEPTH + 1):
        if node is None or not isinstance(node.tag, str) or node.tag in ("body", "html"):
            break
        tag = str(node.tag)
        prev = node.getprevious()
        while prev is not None and not isinstance(prev.tag, str):  # comments
            prev = prev.getprevious()
        parent = node.getparent()
        before = prev.tail if prev is not None else parent.text if parent is not None else None
        found = []
        if prev is not None and (words := _label("".join(prev.itertext()))):
            found.append(("preceding-sibling::*[1][normalize-space()={}]", words, 0.0))
        if words := _label(before):
            found.append(("normalize-space(preceding-sibling::text()[1])={}", words, 0.3))
        for test, words, cost in found:
            literal = _literal(words)
            if literal is not None:
                xpath = f"//{tag}[{test.format(literal)}]{below}"
                out.setdefault(xpath, 5.0 + depth + cost)
        below = f"/{tag}{below}"
        node = node.getparent()
    return out


Candidate = tuple[str, str | None, str | None]  # selector (an XPath: "/..."), attribute, regex


def _is_xpath(selector: str) -> bool:
    """Whether a candidate's selector is an XPath (a CSS selector never starts so)."""
    return selector.startswith(("/", "("))


def _compile(selector: str) -> Any:
    from lxml import etree
    from lxml.cssselect import CSSSelector

    return etree.XPath(selector) if _is_xpath(selector) else CSSSelector(selector)


def _read(docs: Sequence[tuple[Any, Sample]], cand: Candidate) -> list[Decimal | None] | None:
    """The price ``cand`` reads on each doc (None: nothing), or None if it cannot compile."""
    from opslib.extraction._money import parse_amount, parse_price

    selector, attribute, regex = cand
    try:
        compiled = _compile(selector)
    except Exception:
        return None
    values: list[Decimal | None] = []
    for doc, _sample in docs:
        found: Any = compiled(doc) if doc is not None else []
        if not isinstance(found, list) or not found or not hasattr(found[0], "tag"):
            values.append(None)
            continue
        first: Any = found[0]
        if attribute:
            raw = first.get(attribute)
            values.append(parse_amount(raw) if raw else None)
            continue
        text = (first.text or "") if first.tag == "script" else _text(first)
        if regex:
            m = re.search(regex, text[:100_000])
            if m:
                text = m.group(1)
        parsed = parse_price(text[:200]) if text else None
        values.append(parsed[0] if parsed else None)
    return values


def _score(
    docs: Sequence[tuple[Any, Sample]], values: Sequence[Decimal | None], tol: float
) -> tuple[set[int], bool]:
    """(the priced pages read right, whether any page was read wrong)."""
    right: set[int] = set()
    for i, ((_doc, sample), value) in enumerate(zip(docs, values, strict=True)):
        if value is None:
            continue
        if sample.price is None or not _close(value, sample.price, tol):
            return right, True
        right.add(i)
    return right, False


def _choose(
    docs: Sequence[tuple[Any, Sample]],
    ranked: Sequence[tuple[Candidate, float]],
    tolerance: float,
) -> tuple[Candidate | None, int]:
    """The cheapest candidate right on every page; else a union of a few (greedy cover)."""
    priced = {i for i, (_d, s) in enumerate(docs) if s.price is not None}
    usable: list[tuple[Candidate, float, set[int]]] = []
    tried = 0
    for cand, cost in ranked[:_MAX_CANDIDATES]:
        tried += 1
        values = _read(docs, cand)
        if values is None:
            continue
        right, wrong = _score(docs, values, tolerance)
        if wrong or not right:
            continue
        if right == priced:
            return cand, tried
        usable.append((cand, cost, right))
    # No single selector: a CSS group ("A, B") of text selectors, sharing one regex at most.
    left, parts, regex = set(priced), list[str](), None
    while left and len(parts) < _MAX_PARTS:
        pick = max(
            (
                u
                for u in usable
                if u[0][1] is None
                and not _is_xpath(u[0][0])
                and (regex is None or u[0][2] in (None, regex))
            ),
            key=lambda u: (len(u[2] & left), -u[1]),
            default=None,
        )
        if pick is None or not pick[2] & left:
            return None, tried
        parts.append(pick[0][0])
        regex = regex or pick[0][2]
        left -= pick[2]
    if left:
        return None, tried
    group: Candidate = (", ".join(parts), None, regex)
    values = _read(docs, group)
    if values is None:
        return None, tried
    right, wrong = _score(docs, values, tolerance)
    return (group if right == priced and not wrong else None), tried + 1


def _ranked(
    docs: Sequence[tuple[Any, Sample]],
    selectors: Callable[[Any], dict[str, float]],
    tolerance: float,
) -> list[tuple[Candidate, float]]:
    """The candidates ``selectors`` derives from the elements holding each training page's
    price, cheapest first (an element holding much, an attribute or a regex costs more)."""
    candidates: dict[Candidate, float] = {}
    for doc, sample in docs:
        if doc is None or sample.price is None:
            continue
        for (el, attr, regex), inside in _holders(doc, sample.price, tolerance):
            extra = min(1.0, 0.1 * inside) + (1.0 if attr else 0.0) + (0.5 if regex else 0.0)
            for selector, cost in selectors(el).items():
                key = (selector, attr, regex)
                if cost + extra < candidates.get(key, 99.0):
                    candidates[key] = cost + extra
    return sorted(candidates.items(), key=lambda kv: (kv[1], kv[0][0], kv[0][1] or ""))


def generate(
    samples: Sequence[Sample],
    *,
    holdout: float = 0.3,
    seed: int = 0,
    tolerance: float = 0.0,
    domain: str | None = None,
) -> Proposal:
    """The most general CSS selector that finds the known price on every training sample
    (else an XPath finding it by its label, see :func:`_xpaths`), tested on the held-out
    ones (``holdout`` of the samples, at least one from three on).

    ``tolerance`` (a fraction) lets a known price from history match an element whose price
    moved a little since; the tests on held-out pages always ask for the element's own value.
    """
    if not samples:
        raise ConfigError("no sample pages to generate a pattern from")
    priced = [s for s in samples if s.price is not None]
    if not priced:
        raise ConfigError("no sample page has a known price")
    order = list(samples)
    random.Random(seed).shuffle(order)  # noqa: S311 - a reproducible split
    n_out = int(len(order) * holdout) if len(order) >= 3 else 0
    if len(order) >= 3 and holdout > 0:
        n_out = max(1, n_out)
    held, train = order[:n_out], order[n_out:]
    if not any(s.price is not None for s in train):  # keep a priced page to learn from
        swap = next(i for i, s in enumerate(held) if s.price is not None)
        train.append(held.pop(swap))
    docs = [(_parse(s.html), s) for s in train]
    chosen, tried = _choose(docs, _ranked(docs, _selectors, tolerance), tolerance)
    if chosen is None:  # no CSS selector generalises: the element by its label, an XPath
        xpath = [c for c in _ranked(docs, _xpaths, tolerance) if c[0][1] is None]
        chosen, more = _choose(docs, xpath, tolerance)
        tried += more
    names = tuple(s.name for s in train)
    if chosen is None:
        return Proposal(
            None,
            PatternTest(()),
            PatternTest(()),
            tried,
            f"no selector finds the price on all {len(train)} training pages"
            f" ({tried} tried, CSS and XPath by a label); the pages may hold it in different"
            " places: split them, or give an XPath by hand (opslib patterns deploy DOMAIN"
            " --xpath ...)",
            names,
        )
    currencies = Counter(s.currency for s in samples if s.currency)
    currency = currencies.most_common(1)[0][0] if len(currencies) == 1 else None
    kind: Literal["css", "xpath"] = "xpath" if _is_xpath(chosen[0]) else "css"
    pattern = Pattern(
        selector=chosen[0], kind=kind, attribute=chosen[1], currency=currency, regex=chosen[2]
    )
    training = try_pattern(pattern, train, domain)
    held_out = try_pattern(pattern, held, domain)
    if tolerance > 0:  # prices from history: right within the tolerance
        training = _within(training, tolerance)
        held_out = _within(held_out, tolerance)
    tested = PatternTest(training.pages + held_out.pages)
    confidence = round(min(0.99, (tested.right + 1) / (len(tested.pages) + 2)), 3)
    return Proposal(replace(pattern, confidence=confidence), training, held_out, tried, "", names)


def _within(result: PatternTest, tolerance: float) -> PatternTest:
    pages = []
    for page in result.pages:
        close = page.expected is not None and page.got is not None
        if close and _close(page.got, page.expected, tolerance):  # type: ignore[arg-type]
            pages.append(PageCheck(page.name, page.got, page.got, page.reason))
        else:
            pages.append(page)
    return PatternTest(tuple(pages))


def settle_price(sample: Sample, tolerance: float = 0.01) -> Sample | None:
    """``sample`` with its price set to what the page shows, read from the element closest
    to the recorded price within ``tolerance`` (a price from history may have moved a
    little since); None when no element of the page is that close."""
    from opslib.extraction._money import parse_amount, parse_price

    if sample.price is None:
        return sample
    doc = _parse(sample.html)
    if doc is None:
        return None
    best: Decimal | None = None
    for (el, attr, regex), _inside in _holders(doc, sample.price, tolerance):
        value: Decimal | None
        if attr:
            value = parse_amount(el.get(attr))
        elif regex:
            m = re.search(regex, el.text or "")
            value = Decimal(m.group(1).replace(",", ".")) if m else None
        else:
            parsed = parse_price(_text(el))
            value = parsed[0] if parsed else None
        if value is not None and (
            best is None or abs(value - sample.price) < abs(best - sample.price)
        ):
            best = value
    return None if best is None else replace(sample, price=best)


def price_holder(sample: Sample) -> dict[str, str | None] | None:
    """Where the page holds its known price: the XPath of the element (the innermost whose
    text, attribute or script state reads exactly it), the attribute and the regex; None when
    no element does. What ``opslib models collect`` writes beside each training page."""
    if sample.price is None:
        return None
    doc = _parse(sample.html)
    if doc is None:
        return None
    found = sorted(_holders(doc, sample.price, 0.0), key=lambda h: h[1])
    if not found:
        return None
    (el, attr, regex), _inside = found[0]
    return {"xpath": el.getroottree().getpath(el), "attribute": attr, "regex": regex}
