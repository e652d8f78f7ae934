"""Prices a page states for machines: JSON-LD, microdata, RDFa, Open Graph meta, script state.

Read with lxml directly (see docs/decisions.md: extruct was measured and is too slow here).
Each price becomes a :class:`Candidate` with features saying where it was read and in which
role (the offer's price, a low/high bound, a list or sale price specification, a script key),
so the model can weigh a stale JSON-LD list price against the sale price a page shows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from lxml import etree

from opslib.extraction._money import currency_code, parse_amount

__all__ = ["Candidate", "StructuredFacts", "structured_candidates"]


@dataclass
class Candidate:
    """One value that could be the page's price, with the features the model scores."""

    value: Decimal
    currency: str | None
    source: str
    order: int
    features: dict[str, float] = field(default_factory=dict)
    struck: bool = False


@dataclass
class StructuredFacts:
    """What structured data says about the page besides prices."""

    currency: str | None = None
    unavailable: bool = False
    empty_offer: bool = False


_RELATED_KEYS = frozenset(
    {"isrelatedto", "issimilarto", "itemlistelement", "isaccessoryorsparepartfor", "hasvariant"}
)
_SPEC_ROLE = {
    "listprice": "list",
    "strikethroughprice": "list",
    "msrp": "list",
    "srp": "list",
    "regularprice": "list",
    "saleprice": "sale",
    "minimumadvertisedprice": "list",
    "invoiceprice": "list",
}
_UNAVAILABLE = ("outofstock", "discontinued", "soldout")
_META_ROLE = {
    "product:price:amount": "price",
    "og:price:amount": "price",
    "product:sale_price:amount": "sale",
    "product:original_price:amount": "list",
    "product:retailer_price:amount": "list",
}
_META_CURRENCY = ("product:price:currency", "og:price:currency", "product:sale_price:currency")
# Script state keys that hold a price, by role: what shops call their sale and list prices.
_SCRIPT_KEY = re.compile(
    r""""([A-Za-z_]*(?:[Pp]rice|PRICE)[A-Za-z_]*|sale|original|msrp|was|now|current|final)"\s*:\s*"""
    r"""("?)([0-9][0-9.,]{0,14})\2""",
)
_SALE_WORDS = frozenset(
    {
        "sale",
        "final",
        "current",
        "now",
        "special",
        "offer",
        "discount",
        "deal",
        "promo",
        "selling",
        "our",
        "your",
        "actual",
    }
)
_LIST_WORDS = frozenset(
    {
        "list",
        "regular",
        "original",
        "msrp",
        "was",
        "compare",
        "strike",
        "old",
        "base",
        "rrp",
        "retail",
        "before",
        "max",
        "high",
        "reference",
    }
)
_NOISE_WORDS = frozenset(
    {
        "shipping",
        "ship",
        "tax",
        "unit",
        "per",
        "min",
        "low",
        "total",
        "cart",
        "fee",
        "range",
        "delivery",
        "savings",
        "save",
        "saving",
        "installment",
        "monthly",
        "subtotal",
        "points",
        "bundle",
        "addon",
        "warranty",
        "minimum",
        "maximum",
        "message",
        "threshold",
        "limit",
        "financing",
        "credit",
        "free",
        "gift",
        "coupon",
        "reward",
    }
)
_WORD = re.compile(r"[a-z]+")
_MAX_SCRIPT_CHARS = 2_000_000
_MAX_SCRIPT_HITS = 300
_MAX_DEPTH = 24


_ITEMS = etree.XPath("//*[@itemprop or @property]")


def _text(el: etree._Element) -> str:
    return "".join(str(t) for t in el.itertext())


def _types(node: dict[str, Any]) -> str:
    kind = node.get("@type", "")
    if isinstance(kind, list):
        kind = " ".join(str(k) for k in kind)
    return str(kind).lower()


def _walk(
    node: Any, path: tuple[str, ...] = (), depth: int = 0
) -> Iterator[tuple[dict[str, Any], tuple[str, ...]]]:
    if depth > _MAX_DEPTH:
        return  # nodes deeper than this are not offers of the page's product
    if isinstance(node, dict):
        yield node, path
        for key, value in node.items():
            if isinstance(value, dict | list):
                yield from _walk(value, (*path, str(key).lower()), depth + 1)
    elif isinstance(node, list):
        for item in node[:200]:
            yield from _walk(item, path, depth + 1)


def _json_ld(doc: etree._Element) -> Iterator[Any]:
    for script in doc.iterfind(".//script"):
        if "ld+json" not in (script.get("type") or "").lower():
            continue
        text = (script.text or "").strip()
        text = re.sub(r"^\s*(<!--|<!\[CDATA\[)|(-->|\]\]>)\s*$", "", text)
        try:
            yield json.loads(text, strict=False)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than Python recurses
            continue


def _ld_facts(node: dict[str, Any], currency: str | None, facts: StructuredFacts) -> None:
    if currency and facts.currency is None:
        facts.currency = currency
    availability = str(node.get("availability") or "").lower()
    if any(word in availability for word in _UNAVAILABLE):
        facts.unavailable = True


def _ld_roles(node: dict[str, Any], kind: str) -> list[tuple[str, str]]:
    """The keys of a JSON-LD node that hold a price, with the role each plays."""
    if "pricespecification" in kind:
        ptype = str(node.get("priceType") or "").rsplit("/", 1)[-1].lower()
        return [("price", f"spec_{_SPEC_ROLE.get(ptype, 'plain')}")]
    if "offer" in kind or "product" in kind:
        return [("price", "price"), ("lowPrice", "low"), ("highPrice", "high")]
    return []


def _ld_candidates(doc: etree._Element, facts: StructuredFacts) -> list[Candidate]:
    out: list[Candidate] = []
    for n, data in enumerate(_json_ld(doc)):
        products = 0
        for node, path in _walk(data):
            kind = _types(node)
            related = any(p in _RELATED_KEYS for p in path)
            if "product" in kind and not related:
                products += 1
            currency = currency_code(str(node.get("priceCurrency") or "")) or None
            if not related:
                _ld_facts(node, currency, facts)
            for key, role in _ld_roles(node, kind):
                if key not in node:
                    continue
                value = parse_amount(node[key])
                if value is None:
                    if key == "price" and not related:
                        facts.empty_offer = True
                    continue
                feats = {f"ld_role:{role}": 1.0, "src:jsonld": 1.0}
                if related:
                    feats["ld_related"] = 1.0
                if "aggregate" in kind:
                    feats["ld_aggregate"] = 1.0
                if products > 1:
                    feats["ld_later_product"] = 1.0
                if n > 0:
                    feats["ld_later_block"] = 1.0
                out.append(Candidate(value, currency, "jsonld", -1, feats))
    return out


def _item_candidates(doc: etree._Element, facts: StructuredFacts) -> list[Candidate]:
    out: list[Candidate] = []
    found = _ITEMS(doc)
    for el in found if isinstance(found, list) else []:
        if not isinstance(el, etree._Element):
            continue
        prop = (el.get("itemprop") or el.get("property") or "").strip().lower()
        name = prop.rsplit(":", 1)[-1] if not prop.startswith(("og:", "product:")) else prop
        if el.tag == "meta" and prop.startswith(("og:", "product:")):
            continue  # read as Open Graph below
        if name in ("pricecurrency",):
            facts.currency = facts.currency or currency_code(el.get("content") or _text(el))
            continue
        if name == "availability":
            value = (el.get("href") or el.get("content") or "").lower()
            if any(word in value for word in _UNAVAILABLE):
                facts.unavailable = True
            continue
        if name not in ("price", "lowprice", "highprice"):
            continue
        source = "microdata" if el.get("itemprop") else "rdfa"
        raw = el.get("content")
        amount = parse_amount(raw if raw is not None else _text(el).strip()[:60])
        if amount is None:
            facts.empty_offer = True
            continue
        feats = {f"src:{source}": 1.0, f"md_role:{name}": 1.0}
        if raw is not None:
            feats["md_content_attr"] = 1.0
        for anc in el.iterancestors():
            if (anc.get("itemprop") or "").lower() in _RELATED_KEYS:
                feats["md_related"] = 1.0
                break
        out.append(Candidate(amount, None, source, -1, feats))
    return out


def _meta_candidates(doc: etree._Element, facts: StructuredFacts) -> list[Candidate]:
    out: list[Candidate] = []
    for meta in doc.iterfind(".//meta"):
        key = (meta.get("property") or meta.get("name") or "").strip().lower()
        if key in _META_CURRENCY:
            facts.currency = facts.currency or currency_code(meta.get("content"))
        elif key in _META_ROLE:
            amount = parse_amount(meta.get("content"))
            if amount is None:
                facts.empty_offer = True
                continue
            feats = {"src:meta": 1.0, f"meta_role:{_META_ROLE[key]}": 1.0}
            out.append(Candidate(amount, None, "meta", -1, feats))
    return out


def _script_role(key: str) -> str:
    words = set(_WORD.findall(re.sub(r"([a-z])([A-Z])", r"\1 \2", key).lower()))
    if words & _NOISE_WORDS:
        return "noise"
    if words & _LIST_WORDS:
        return "list"
    if words & _SALE_WORDS:
        return "sale"
    return "plain" if "price" in words else "noise"


def _script_candidates(doc: etree._Element) -> list[Candidate]:
    out: list[Candidate] = []
    hits = 0
    for script in doc.iterfind(".//script"):
        kind = (script.get("type") or "").lower()
        if "ld+json" in kind or script.get("src") or not script.text:
            continue
        for match in _SCRIPT_KEY.finditer(script.text[:_MAX_SCRIPT_CHARS]):
            amount = parse_amount(match.group(3).rstrip(".,"))
            if amount is None:
                continue
            role = _script_role(match.group(1))
            words = len(_WORD.findall(re.sub(r"([a-z])([A-Z])", r"\1 \2", match.group(1)).lower()))
            feats = {
                "src:script": 1.0,
                f"script_role:{role}": 1.0,
                f"script_words:{min(words, 3)}": 1.0,
            }
            if hits < 3:
                feats["script_first"] = 1.0
            out.append(Candidate(amount, None, "script", -1, feats))
            hits += 1
            if hits >= _MAX_SCRIPT_HITS:
                return out
    return out


def structured_candidates(doc: etree._Element) -> tuple[list[Candidate], StructuredFacts]:
    """Every price the page's structured data and script state name, and the other facts."""
    facts = StructuredFacts()
    found = _ld_candidates(doc, facts) + _item_candidates(doc, facts) + _meta_candidates(doc, facts)
    found += _script_candidates(doc)
    return found, facts
