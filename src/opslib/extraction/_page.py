"""A parsed page's price candidates with their features: visible text and structured data.

Features are general across sites: the element's tag, price words in its own and its
ancestors' classes and ids, struck-through ancestors, the words around the amount, where it
stands (document position, distance to the title and to "add to cart"), and how the value
agrees with the other candidates and with the structured data.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from lxml import etree

from opslib.extraction._money import parse_price
from opslib.extraction._structured import Candidate, StructuredFacts, structured_candidates

__all__ = ["PageAnalysis", "analyse", "parse_document"]

# fmt: off
_SKIP = frozenset({
    "script", "style", "noscript", "template", "svg", "head", "title", "textarea", "iframe",
    "code", "pre",
})
# fmt: on
_STRUCK_TAGS = frozenset({"del", "s", "strike"})
# fmt: off
_KEYWORDS = (
    "price", "sale", "offer", "now", "current", "final", "our", "special", "deal", "promo", "was",
    "old", "regular", "list", "orig", "strike", "through", "compare", "msrp", "rrp", "before",
    "save", "saving", "discount", "off", "unit", "per", "ship", "deliver", "total", "cart",
    "basket", "bag", "install", "month", "related", "recommend", "similar", "carousel", "upsell",
    "cross", "footer", "header", "nav", "menu", "review", "rating", "coupon", "reward", "point",
    "tax", "vat", "main", "primary", "buy", "product", "detail", "pdp", "range", "from", "min",
    "max", "tile", "card", "grid", "item", "swatch", "option", "variant", "badge", "label",
    "accessib", "offscreen", "hidden", "sr", "visually", "strikethrough", "prices", "pricing",
    "sales", "savings", "shipping", "delivery",
)
# fmt: on
_KEY_OF = {kw: kw for kw in _KEYWORDS}
# fmt: off
_SECTION_WORDS = frozenset({
    "related", "recommend", "similar", "carousel", "upsell", "cross", "footer", "header", "nav",
    "menu", "review", "cart", "grid", "tile", "card",
})
# fmt: on
_LONG_KEYWORDS = tuple(kw for kw in _KEYWORDS if len(kw) >= 5)
_TEXT_WORDS = {
    "was": (
        "was",
        "statt",
        "uvp",
        "avant",
        "zamiast",
        "antes",
        "prima",
        "regular",
        "reg.",
        "list",
        "msrp",
        "rrp",
        "originally",
        "通常",
        "before",
        "vorher",
        "war",
    ),
    "now": (
        "now",
        "jetzt",
        "sale",
        "nur",
        "only",
        "maintenant",
        "teraz",
        "ahora",
        "our price",
        "price:",
        "preis",
        "prix",
        "cena",
        "precio",
        "価格",
        "deal",
    ),
    "save": (
        "save",
        "you save",
        "spare",
        "sparen",
        "économisez",
        "oszczędzasz",
        "ahorra",
        "off",
        "%",
    ),
    "ship": ("ship", "deliver", "versand", "livraison", "dostawa", "envío", "送料", "postage"),
    "unit": (
        "/",
        "per ",
        " each",
        "pro ",
        "je ",
        "/kg",
        "/100",
        "/ct",
        "/oz",
        "/lb",
        "/l",
        "/count",
        "/pack",
    ),
    "from": (
        "from",
        "ab ",
        "à partir",
        "od ",
        "desde",
        "starting",
        "as low as",
        "under",
        "over",
        "up to",
        "bis",
    ),
    "pay": (
        "payment",
        "month",
        "/mo",
        "monat",
        "mois",
        "rat",
        "installment",
        "klarna",
        "afterpay",
        "financ",
        "apr",
    ),
    "total": ("total", "subtotal", "summe", "gesamt", "cart", "warenkorb", "panier", "koszyk"),
}
_TEXT_RES = tuple(
    (name, re.compile("|".join(re.escape(w) for w in words)).search)
    for name, words in _TEXT_WORDS.items()
)
_CART = re.compile(
    r"add to (cart|bag|basket|trolley)|buy now|in den warenkorb|ajouter au panier|"
    r"dodaj do koszyka|añadir al carrito|aggiungi al carrello|カートに入れる|add to order|"
    r"in winkelwagen|toevoegen aan winkelwagen|kaufen|in den einkaufswagen|lägg i varukorgen|"
    r"legg i handlekurven|læg i kurv|sepete ekle|добавить в корзину|adicionar ao carrinho|"
    r"pridať do košíka|přidat do košíku",
    re.I,
)
_GONE = re.compile(
    r"no longer (available|sold|carried)|discontinued|not available|currently unavailable|"
    r"sold out|out of stock|nicht mehr (verfügbar|erhältlich)|ausverkauft|"
    r"plus disponible|épuisé|niedostępny|wyprzedan|agotado|"
    r"(see|view|show) (the )?price in (the )?(cart|bag|basket|checkout)|add to cart to see|"
    r"price (on|upon) request|call for (price|pricing)|"
    r"preis auf anfrage|prix sur demande|login to see price|sign in (to|for) (see )?price|"
    r"esaurito|non disponibile|uitverkocht|niet (meer )?leverbaar|indisponible|slutsåld|"
    r"udsolgt|utsolgt|нет в наличии|esgotado|tükendi|vyprodáno"
)  # matched against lower-cased text: far quicker than re.I on a long page

_FONT = re.compile(r"font-size\s*:\s*(\d+(?:\.\d+)?)\s*(px|pt|em|rem)", re.I)
_DIGIT = re.compile(r"\d")
_LETTERS = re.compile(r"[^\W\d_]", re.U)
_RANGE = re.compile(r"\d\s*[-\u2013\u2014]\s*\D{0,4}\d")  # hyphen, en and em dash
_MAX_TEXT = 60
_MAX_CANDIDATES = 2000
_MARKERS = frozenset({"h1", "button", "input", "a"})
_CARTISH = re.compile(r"cart|bag|basket|buy|checkout|korb|panier|koszyk", re.I)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_MAX_SPLIT = 24
_MAX_CONTEXT = 80
# A quick look before the price parser: a currency sign or code may be in the text (any
# non-ASCII character, "$", an upper-case three-letter code, the Latin-script abbreviations).
_MONEYISH = re.compile(r"[^\x00-\x7f]|\$|\b[A-Z]{3}\b|\b(?:kr|zl|Rs|Kc|Ft|lei|kn|Fr)\b")
_SPLIT_PART = 6
_MAX_VISIBLE = 2_000_000


@dataclass
class PageAnalysis:
    """Candidates of one page, the page-level features (for "no price") and the facts."""

    candidates: list[Candidate]
    page_features: dict[str, float] = field(default_factory=dict)
    facts: StructuredFacts = field(default_factory=StructuredFacts)


_CAMEL = re.compile(r"([a-z])([A-Z])")
_TOKEN = re.compile(r"[a-z]+")


def parse_document(text: str) -> etree._Element | None:
    """The page's element tree (lxml's HTML parser, which mends broken markup), or None."""
    try:
        return etree.fromstring(_XML_DECL.sub("", text, count=1), _PARSER)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None


_PARSER = etree.HTMLParser(no_network=True, huge_tree=False)


def _attrs(el: etree._Element) -> str:
    return f"{el.get('class') or ''} {el.get('id') or ''}"


def _text(el: etree._Element) -> str:
    return str(_STRING(el))


_STRING = etree.XPath("string()")


def _price_context(el: etree._Element) -> bool:
    """The element or one of its three nearest ancestors is marked as a price."""
    if (el.get("itemprop") or "").lower() in ("price", "lowprice"):
        return True
    for node in itertools.chain((el,), itertools.islice(el.iterancestors(), 3)):
        if "price" in _classes(node):
            return True
    return False


def _classes(el: etree._Element) -> frozenset[str]:
    """Keywords in an element's class, id and itemprop ("priceBlock__was" -> price, was)."""
    raw = f"{el.get('class') or ''} {el.get('id') or ''} {el.get('itemprop') or ''}"
    return _keywords(raw) if raw.strip() else _NO_WORDS


@lru_cache(maxsize=8192)
def _keywords(raw: str) -> frozenset[str]:
    words = _TOKEN.findall(_CAMEL.sub(r"\1 \2", raw).lower())
    return frozenset(_KEY_OF.get(w) or _prefixed(w) for w in words) - {""}


@lru_cache(maxsize=8192)
def _prefixed(word: str) -> str:
    # "prices", "strikethrough", "recommended": a keyword of five letters or more that starts
    # the word counts; shorter ones must be the whole word ("off" is not "offscreen").
    for kw in _LONG_KEYWORDS:
        if word.startswith(kw):
            return kw
    return ""


_NO_WORDS: frozenset[str] = frozenset()


def _bucket(n: float, edges: tuple[float, ...]) -> str:
    for edge in edges:
        if n <= edge:
            return f"<={edge:g}"
    return f">{edges[-1]:g}"


def _text_features(text: str, has_currency: bool) -> dict[str, float]:
    low = text.lower()
    feats: dict[str, float] = {}
    for name, found in _TEXT_RES:
        if found(low):
            feats[f"txt:{name}"] = 1.0
    letters = len(_LETTERS.findall(text))
    feats[f"letters:{_bucket(letters, (0, 3, 8, 20))}"] = 1.0
    if _RANGE.search(text):
        feats["txt:range"] = 1.0
    if len(_DIGIT.findall(text)) > 8:
        feats["txt:many_digits"] = 1.0
    feats["has_currency" if has_currency else "no_currency"] = 1.0
    if text.startswith(("(", "[")):
        feats["txt:paren"] = 1.0
    return feats


def _context_features(owner: etree._Element) -> dict[str, float]:
    """The label just before the price: "Was <del>$10</del>", "<td>List Price:</td><td>$12"."""
    parts: list[str] = []
    node: etree._Element | None = owner
    for _ in range(2):  # the element, then its parent when the element is its only child
        if node is None:
            break
        before = node.getprevious()
        parent = node.getparent()
        if before is not None:
            if isinstance(before.tag, str) and len(before) <= _SPLIT_PART:
                parts.append(_text(before)[-_MAX_CONTEXT:])
            parts.append(before.tail or "")
            break
        if parent is None:
            break
        parts.append(parent.text or "")
        if len(parent) > 1:
            break
        node = parent
    low = " ".join(parts).lower()
    if not low.strip():
        return {}
    return {f"ctx:{name}": 1.0 for name, found in _TEXT_RES if found(low)}


def _element_features(el: etree._Element) -> tuple[dict[str, float], bool]:
    feats: dict[str, float] = {}
    tag = el.tag if isinstance(el.tag, str) else "other"
    feats[f"tag:{tag if tag in _TAGS else 'other'}"] = 1.0
    for kw in sorted(_classes(el)):
        feats[f"kw0:{kw}"] = 1.0
    struck = tag in _STRUCK_TAGS or "line-through" in (el.get("style") or "")
    level = 0
    for anc in el.iterancestors():
        level += 1
        atag = anc.tag if isinstance(anc.tag, str) else ""
        if level <= 3:
            for kw in sorted(_classes(anc)):
                feats[f"kw1:{kw}"] = 1.0
            if atag in _STRUCK_TAGS or "line-through" in (anc.get("style") or ""):
                struck = True
        elif level <= 12:
            for kw in sorted(_classes(anc) & _SECTION_WORDS):
                feats[f"kw2:{kw}"] = 1.0
        if atag in (
            "a",
            "button",
            "option",
            "select",
            "label",
            "li",
            "nav",
            "footer",
            "header",
            "aside",
            "table",
            "form",
            "h1",
            "h2",
            "h3",
            "strong",
            "b",
        ):
            feats[f"in:{atag}"] = 1.0
        if (anc.get("itemprop") or "").lower() in ("offers", "price"):
            feats["in:itemprop_offers"] = 1.0
    if (el.get("itemprop") or "").lower() in ("price", "lowprice"):
        feats["itemprop_price"] = 1.0
    size = _FONT.search(el.get("style") or "")
    if size:
        px = float(size.group(1)) * (16 if size.group(2).lower() in ("em", "rem") else 1)
        feats[f"font:{_bucket(px, (12, 16, 22))}"] = 1.0
    feats[f"depth:{_bucket(level, (6, 10, 15, 22))}"] = 1.0
    if struck:
        feats["struck"] = 1.0
    return feats, struck


# fmt: off
_TAGS = frozenset({
    "span", "div", "p", "strong", "b", "del", "s", "strike", "ins", "td", "li", "a", "h1", "h2",
    "h3", "h4", "bdi", "sup", "option", "button", "label", "em", "dd", "meta", "small", "i",
    "font", "data",
})
# fmt: on


class _Walk:
    """One pass over the elements: visible text, the title, "add to cart", price texts."""

    def __init__(self) -> None:
        self.found: list[Candidate] = []
        self.seen: set[tuple[int, Decimal]] = set()
        self.visible: list[str] = []
        self.h1 = self.cart = -1
        self.total = 1

    def run(self, doc: etree._Element) -> None:
        digit = _DIGIT.search
        consider = self._consider
        visible = self.visible
        i = 0
        for i, el in enumerate(doc.iter()):
            tag = el.tag
            if tag.__class__ is not str:
                continue
            tail = el.tail
            if tail:
                visible.append(tail)
                if digit(tail):
                    consider(i, el.getparent(), tail, is_tail=True)
            if tag in _SKIP:
                continue
            text = el.text
            if text:
                visible.append(text)
                if digit(text):
                    consider(i, el, text, is_tail=False)
            if tag in _MARKERS:
                self._mark(i, el, str(tag))
            if len(self.found) >= _MAX_CANDIDATES:
                break
        self.total = max(i, 1)

    def _mark(self, i: int, el: etree._Element, tag: str) -> None:
        if tag == "h1":
            if self.h1 < 0:
                self.h1 = i
            return
        if self.cart >= 0 or (tag == "a" and not _CARTISH.search(_attrs(el))):
            return  # links are many: only those whose class or id speaks of a cart
        label = el.get("value") if tag == "input" else _text(el)[:80]
        if label and _CART.search(label):
            self.cart = i

    def _consider(
        self, i: int, owner: etree._Element | None, raw: str | None, *, is_tail: bool
    ) -> None:
        if not raw or owner is None:
            return
        text = " ".join(raw.split())
        if len(text) > _MAX_TEXT:
            return
        moneyish = _MONEYISH.search(text) is not None
        split = not moneyish and not is_tail and len(text) <= _SPLIT_PART
        if not moneyish and not split and not _price_context(owner):
            return  # a number with no currency outside any price element: skip the parser
        parsed = parse_price(text)
        if parsed is not None and parsed[1] is None and split:
            # a price split over elements: <span><sup>$</sup><span>29</span><sup>99</sup></span>
            # (the symbol may stand outside: then the widest number is the price)
            for anc in itertools.islice(owner.iterancestors(), 2):
                if len(anc) > _SPLIT_PART:
                    break
                full = "".join(_text(anc).split())
                if len(full) > _MAX_SPLIT:
                    break
                joined = parse_price(full)
                if joined is not None:
                    owner, text, parsed = anc, full, joined
                    if joined[1] is not None:
                        break
        if parsed is None or (id(owner), parsed[0]) in self.seen:
            return
        value, currency = parsed
        if currency is None and not _price_context(owner):
            return  # a bare number outside any price element: a rating, a count, a size
        self.seen.add((id(owner), value))
        efeats, struck = _element_features(owner)
        feats = {"src:text": 1.0, **efeats, **_text_features(text, currency is not None)}
        feats.update(_context_features(owner))
        if is_tail:
            feats["tail"] = 1.0
        self.found.append(Candidate(value, currency, "text", i, feats, struck))

    def position_features(self, page: dict[str, float]) -> None:
        for rank, cand in enumerate(self.found):
            f = cand.features
            f[f"pos:{_bucket(cand.order / self.total, (0.1, 0.25, 0.5, 0.75))}"] = 1.0
            f[f"rank:{_bucket(rank, (0, 1, 3, 7, 15))}"] = 1.0
            if self.h1 >= 0:
                f[f"h1:{_bucket(cand.order - self.h1, (-1, 15, 40, 100, 300))}"] = 1.0
            else:
                f["h1:none"] = 1.0
            if self.cart >= 0:
                f[f"cart:{_bucket(self.cart - cand.order, (-50, -1, 10, 30, 80, 250))}"] = 1.0
            else:
                f["cart:none"] = 1.0
        page["page:has_cart"] = 1.0 if self.cart >= 0 else 0.0
        page["page:has_h1"] = 1.0 if self.h1 >= 0 else 0.0


def _struck_neighbours(cand: Candidate, struck: list[tuple[int, Decimal]]) -> None:
    """A price next to a struck-through higher one is the sale price of a pair."""
    for order, value in struck:
        if abs(order - cand.order) <= 25 and order != cand.order:
            if value > cand.value:
                cand.features["near_struck_higher"] = 1.0
            elif value < cand.value:
                cand.features["near_struck_lower"] = 1.0


def _cross_features(cands: list[Candidate]) -> None:
    text_count: Counter[Decimal] = Counter()
    unstruck: Counter[Decimal] = Counter()
    sources: defaultdict[Decimal, set[str]] = defaultdict(set)
    texts = [c for c in cands if c.source == "text"]
    for c in cands:
        if c.source == "text":
            text_count[c.value] += 1
            if not c.struck:
                unstruck[c.value] += 1
        else:
            role = next((k for k in c.features if "role:" in k), "")
            sources[c.value].add(role.replace("src:", ""))
    struck_values = [(c.order, c.value) for c in texts if c.struck]
    for c in cands:
        f = c.features
        f[f"same_text:{_bucket(text_count[c.value], (0, 1, 2, 4))}"] = 1.0
        if c.value == 0:
            f["zero"] = 1.0
        for role in sorted(sources[c.value]):
            f[f"eq:{role}"] = 1.0
        if c.source != "text":
            seen = (
                "eq" if unstruck[c.value] else "eq_struck_only" if text_count[c.value] else "none"
            )
            f[f"visible_{seen}"] = 1.0
        else:
            _struck_neighbours(c, struck_values)
        if not sources[c.value]:
            f["no_structured_eq"] = 1.0


def analyse(doc: etree._Element) -> PageAnalysis:
    """The candidates of a parsed page and its page-level features."""
    page: dict[str, float] = {"page:bias": 1.0}
    walk = _Walk()
    walk.run(doc)
    walk.position_features(page)
    cands = list(walk.found)
    structured, facts = structured_candidates(doc)
    cands += structured
    _cross_features(cands)
    if _GONE.search(" ".join(walk.visible)[:_MAX_VISIBLE].lower()):
        page["page:gone_words"] = 1.0
    if facts.unavailable:
        page["page:ld_unavailable"] = 1.0
    if facts.empty_offer:
        page["page:empty_offer"] = 1.0
    n_text = sum(1 for c in cands if c.source == "text")
    page[f"page:texts:{_bucket(n_text, (0, 2, 6, 20))}"] = 1.0
    page["page:structured" if structured else "page:no_structured"] = 1.0
    n_script = sum(1 for c in structured if c.source == "script")
    page[f"page:scripts:{_bucket(n_script, (0, 3, 10, 40))}"] = 1.0
    for source in ("jsonld", "meta", "microdata"):
        if any(c.source == source for c in structured):
            page[f"page:has_{source}"] = 1.0
    return PageAnalysis(cands, {k: v for k, v in page.items() if v}, facts)
