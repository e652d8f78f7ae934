"""A page's structural fingerprint: its DOM skeleton as a multiset of features, text ignored.

Each element becomes a token: its tag, its class names and id without digits (hashed CSS-in-JS
names and counters change with every build or product), its ``itemprop``, and the type of a
JSON-LD script. Text, numbers, attribute values, comments, script and style bodies, iframes
and ad slots are dropped. The features are every element's path of three tokens (grandparent,
parent, self) and every pair of neighbouring children under one parent (the order of a
block); repeated features count ``1 + log2(n)``, so a list of 12 or 40 products weighs about
the same. Two fingerprints are compared by weighted Jaccard similarity, a distance of 0 for
the same skeleton and 1 for nothing in common.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from hashlib import blake2b
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # lxml comes with the extraction extra; imported when a page is read
    import lxml.etree

__all__ = ["Fingerprint", "fingerprint", "skeleton_distance"]

_DROPPED = frozenset(
    {"script", "style", "noscript", "template", "iframe", "frame", "object", "embed", "svg",
     "canvas", "link", "meta", "base", "ins", "br", "wbr"}
)  # fmt: skip
_AD = re.compile(
    r"^(ad|ads|adv|advert\w*|adsbygoogle|ad[-_].*|.*[-_]ad|.*[-_]ads|banner[-_]?ad\w*|"
    r"sponsor\w*|dfp\w*|gpt[-_].*|taboola\w*|outbrain\w*|google[-_]ad\w*)$"
)
# Class names of words; a hashed name (``_a8Fq2x``, ``css-1k2j3``, ``sc-bdVaJa``) changes with
# every build of the site, not with its layout.
_WORD = re.compile(r"^[a-z][a-z_-]*$")
_HASHED = re.compile(r"^(css|sc|jsx|emotion|styled)-")
_MAX_FEATURES = 4096
_JSON_LD = "application/ld+json"


@dataclass(frozen=True)
class Fingerprint:
    """A page's skeleton features (hex key -> weight) and the number of elements read."""

    features: Mapping[str, float]
    elements: int

    def as_json(self) -> dict[str, object]:
        """A JSON-ready form (stored as a baseline)."""
        return {"features": dict(self.features), "elements": self.elements}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Fingerprint:
        """The fingerprint :meth:`as_json` gave."""
        raw = data.get("features")
        features = {str(k): float(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
        elements = data.get("elements")
        return cls(features, int(elements) if isinstance(elements, int | float) else 0)


@lru_cache(maxsize=8192)
def _words(value: str) -> tuple[str, ...]:
    return tuple(sorted({w for w in value.split() if _WORD.match(w) and not _HASHED.match(w)}))


@lru_cache(maxsize=8192)
def _ad_names(value: str) -> bool:
    return any(_AD.match(name) for name in value.lower().split())


@lru_cache(maxsize=16384)
def _token_of(tag: str, classes: str, ident: str, prop: str) -> str:
    parts = [tag.lower()]
    words = _words(classes)
    if words:
        parts.append("." + ".".join(words))
    idents = _words(ident)
    if idents:
        parts.append("#" + idents[0])
    if prop:
        parts.append("@" + prop.strip().lower()[:40])
    return "".join(parts)


def _token(element: lxml.etree._Element) -> str:
    get = element.get
    return _token_of(str(element.tag), get("class") or "", get("id") or "", get("itemprop") or "")


def _key(feature: str) -> str:
    return blake2b(feature.encode(), digest_size=6).hexdigest()


def _parse(page: str | bytes) -> lxml.etree._Element | None:
    import lxml.etree

    if isinstance(page, str):
        page = page.encode("utf-8", "replace")
    if not page.strip():
        return None
    try:  # plain etree elements: lxml.html's element classes cost a lookup per element
        doc = lxml.etree.fromstring(page, lxml.etree.HTMLParser(no_network=True))
    except (lxml.etree.ParserError, lxml.etree.XMLSyntaxError, ValueError):
        return None
    return doc


def fingerprint(page: str | bytes) -> Fingerprint:
    """The structural fingerprint of ``page`` (empty for a page that is not HTML)."""
    doc = _parse(page)
    if doc is None:
        return Fingerprint({}, 0)
    counts: Counter[str] = Counter()
    elements = 0
    stack: list[tuple[lxml.etree._Element, str, str, str]] = [(doc, _token(doc), "", "")]
    while stack:
        element, token, parent, grand = stack.pop()
        elements += 1
        counts["p:" + grand + ">" + parent + ">" + token] += 1
        previous = "^"
        kept = []
        for child in element:
            tag = child.tag
            if not isinstance(tag, str):
                continue  # comments, processing instructions
            tag = tag.lower()
            if tag in _DROPPED:
                if tag == "script" and (child.get("type") or "").lower() == _JSON_LD:
                    counts["j:" + token] += 1  # JSON-LD is structure: extractors read it
                continue
            names = (child.get("class") or "") + " " + (child.get("id") or "")
            if names != " " and _ad_names(names):
                continue
            child_token = _token(child)
            kept.append((child, child_token, token, parent))
            if child_token != previous:  # a run of equal siblings is one step of the order
                counts["s:" + token + ">" + previous + "+" + child_token] += 1
                previous = child_token
        kept.reverse()
        stack.extend(kept)
    weighted = {_key(f): 1.0 + math.log2(n) for f, n in counts.items()}
    if len(weighted) > _MAX_FEATURES:
        weighted = dict(sorted(weighted.items(), key=lambda kv: -kv[1])[:_MAX_FEATURES])
    return Fingerprint({k: round(v, 3) for k, v in weighted.items()}, elements)


def skeleton_distance(one: Fingerprint, other: Fingerprint) -> float:
    """1 - the weighted Jaccard similarity of the two skeletons: 0 the same, 1 disjoint."""
    a, b = one.features, other.features
    if not a and not b:
        return 0.0
    keys = a.keys() | b.keys()
    low = sum(min(a.get(k, 0.0), b.get(k, 0.0)) for k in keys)
    high = sum(max(a.get(k, 0.0), b.get(k, 0.0)) for k in keys)
    return round(1.0 - low / high, 4) if high else 0.0
