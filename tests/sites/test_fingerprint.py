"""The structural fingerprint: content-only changes keep it, layout changes move it, fast."""

from __future__ import annotations

import copy
import random
import re
import time
from pathlib import Path

import lxml.html
import pytest

from opslib.extraction._synth import synthetic_page
from opslib.lab import LabSettings
from opslib.lab._catalog import catalog
from opslib.lab._control import Layout
from opslib.lab._shop import render_product
from opslib.sites import Fingerprint, fingerprint, skeleton_distance
from opslib.thresholds import DEFAULT_THRESHOLDS

LIMIT = float(DEFAULT_THRESHOLDS["sites.layout_distance"].crit or 0)
_WORDS = [
    "alpha",
    "beta",
    "gamma",
    "sale",
    "new",
    "hot",
    "deal",
    "best",
    "price",
    "offer",
    "free",
    "ship",
]
_ADS = (
    '<iframe src="https://ads.example/x{n}"></iframe>',
    '<div class="ad-slot"><a href="/x{n}"><img src="/b.gif"></a></div>',
    '<ins class="adsbygoogle" data-ad="{n}"></ins>',
    "<script>var t={n};</script>",
    '<div id="google_ads_{n}" class="sponsored"><p>Buy now</p></div>',
)


def vary_content(page: str, rng: random.Random) -> str:
    """The same page on another day: every text and number, links and images, list lengths,
    script bodies and ad slots changed; the template kept."""

    def sub(text: str | None) -> str | None:
        if not text or not text.strip():
            return text
        out = re.sub(r"\d", lambda _m: str(rng.randrange(10)), text)
        out = re.sub(r"[A-Za-z]{3,}", lambda _m: rng.choice(_WORDS), out)
        return out + (" " + rng.choice(_WORDS) if rng.random() < 0.3 else "")

    doc = lxml.html.document_fromstring(page)
    for element in doc.iter():
        if not isinstance(element.tag, str):
            continue
        element.text, element.tail = sub(element.text), sub(element.tail)
        for name in ("href", "src", "alt", "content", "title"):
            value = element.get(name)
            if value:
                element.set(name, sub(value) or "")
    for listing in list(doc.iter("ul", "ol", "tbody")):
        items = [c for c in listing if isinstance(c.tag, str)]
        if len(items) < 2:
            continue
        if rng.random() < 0.5:  # fewer related products, reviews, menu entries
            for item in items[1 : 1 + rng.randrange(len(items) // 2 + 1)]:
                listing.remove(item)
        else:
            for _ in range(rng.randrange(1, len(items) + 2)):
                listing.append(copy.deepcopy(items[-1]))
    body = doc.find("body")
    assert body is not None
    for _ in range(rng.randrange(5)):
        ad = rng.choice(_ADS).format(n=rng.randrange(999))
        body.insert(rng.randrange(len(body) + 1), lxml.html.fragment_fromstring(ad))
    return str(lxml.html.tostring(doc, encoding="unicode"))


def test_content_only_changes_never_alarm_on_synthetic_pages() -> None:
    distances = []
    for i in range(300):
        page = synthetic_page(random.Random(1000 + i)).html
        distances.append(
            skeleton_distance(fingerprint(page), fingerprint(vary_content(page, random.Random(i))))
        )
    assert max(distances) < LIMIT, max(distances)
    assert sum(distances) / len(distances) < 0.1


def test_another_template_is_a_change_on_synthetic_pages() -> None:
    moved = [
        skeleton_distance(
            fingerprint(synthetic_page(random.Random(1000 + i)).html),
            fingerprint(synthetic_page(random.Random(5000 + i)).html),
        )
        for i in range(300)
    ]
    assert sum(d >= LIMIT for d in moved) / len(moved) >= 0.97


def test_lab_pages_prices_changing_are_the_same_layout(tmp_path: Path) -> None:
    now = time.time()
    for product in catalog(LabSettings.for_tests(tmp_path, 40000)):
        layout: Layout = "noprice" if product.out_of_stock else "standard"
        before = fingerprint(render_product(product, layout, now))
        for days in (1, 3, 11):
            later = fingerprint(render_product(product, layout, now + days * 86400))
            assert skeleton_distance(before, later) == 0.0


@pytest.mark.parametrize("layout", ["changed", "redesign"])
def test_lab_layout_changes_are_found(tmp_path: Path, layout: Layout) -> None:
    now = time.time()
    for product in catalog(LabSettings.for_tests(tmp_path, 40000)):
        if product.out_of_stock:
            continue
        before = fingerprint(render_product(product, "standard", now))
        after = fingerprint(render_product(product, layout, now))
        assert skeleton_distance(before, after) >= LIMIT


def test_ads_scripts_and_hashed_class_names_are_left_out() -> None:
    plain = '<html><body><div class="price-box"><span class="price">1</span></div></body></html>'
    noisy = (
        '<html><body><div class="price-box _aX9kQ2 css-1q2w3e"><script>var x = {"a": 1}'
        '</script><span class="price sc-bdVaJa">2</span><iframe src="/ad"></iframe>'
        '<div class="ad-banner"><div><p>ad</p></div></div></div><!-- a comment --></body></html>'
    )
    assert skeleton_distance(fingerprint(plain), fingerprint(noisy)) == 0.0
    with_jsonld = plain.replace(
        "<body>", '<body><script type="application/ld+json">{"price": 1}</script>'
    )
    assert skeleton_distance(fingerprint(plain), fingerprint(with_jsonld)) > 0


@pytest.mark.parametrize("page", [b"", b"\x00\x01\x02binary", "just text", b"%PDF-1.4", "<<<>>>"])
def test_bad_input_gives_a_fingerprint_not_an_error(page: str | bytes) -> None:
    found = fingerprint(page)
    assert isinstance(found, Fingerprint)
    assert Fingerprint.from_json(found.as_json()) == found


def test_fingerprint_takes_a_few_ms() -> None:
    """Best of a few runs: the machine is shared, the figure is the code's."""
    rng = random.Random(7)
    pages = [synthetic_page(rng).html for _ in range(60)]
    large = max(pages, key=len).replace("</body>", "".join(pages[:20]) + "</body>")  # ~190 KB

    def took(work: list[str]) -> float:
        began = time.perf_counter()
        for page in work:
            fingerprint(page)
        return (time.perf_counter() - began) / len(work)

    per_page = min(took(pages) for _ in range(3))
    large_took = min(took([large]) for _ in range(5))
    assert per_page < 0.005, per_page  # ~1 ms idle
    assert large_took < 0.08, (len(large), large_took)  # ~8,000 elements: ~20 ms idle
