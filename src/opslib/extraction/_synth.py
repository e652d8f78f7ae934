# ruff: noqa: E501 - HTML templates read best on one line
"""Synthetic shop pages with known prices: the model's training and held-out data.

Many layouts and page shapes, as shops write them: JSON-LD only, microdata only, the price in a
script's state, Open Graph meta; a list price struck through beside the sale price, per-unit
prices, shipping, savings, instalments, related products, a mini-cart; class names meaningful
or hashed; prices in many currencies and formats; and pages without a price (product gone,
"see price in cart", price on request). A stale JSON-LD price (the list price while the page
shows a sale) is as common here as on the web. Nothing here is tuned to the dev pages.
"""

from __future__ import annotations

import json
import random
import string
from dataclasses import dataclass
from decimal import Decimal
from html import escape
from typing import Any

__all__ = ["SyntheticPage", "synthetic_page"]


@dataclass(frozen=True)
class SyntheticPage:
    """A generated page and the price (or None) and currency a shopper sees on it."""

    html: str
    price: Decimal | None
    currency: str | None
    shape: str


def _group(n: int, sep: str) -> str:
    s = str(n)
    parts: list[str] = []
    while len(s) > 3:
        parts.insert(0, s[-3:])
        s = s[:-3]
    parts.insert(0, s)
    return sep.join(parts)


def _fmt(amount: Decimal, currency: str, style: int) -> str:
    whole = int(amount)
    cents = f"{int((amount - whole) * 100):02d}"
    us = f"{_group(whole, ',')}.{cents}"
    us0 = _group(whole, ",") if cents == "00" and style % 2 else us
    eu = f"{_group(whole, '.')},{cents}"
    sp = f"{_group(whole, chr(160))},{cents}"
    forms = {
        "USD": [f"${us}", f"${us0}", f"US${us}", f"USD {us}", f"$ {us}", f"${us}"],
        "EUR": [
            f"{eu} €",
            f"{eu}\u00a0€",
            f"€{us}",
            f"€ {eu}",
            f"{sp} €",
            f"EUR {eu}",
            f"{eu} EUR",
        ],
        "GBP": [f"£{us}", f"£{us0}", f"GBP {us}"],
        "PLN": [f"{sp} zł", f"{eu} zł", f"{sp} PLN"],
        "JPY": [f"¥{_group(whole, ',')}", f"{_group(whole, ',')}円", f"￥{_group(whole, ',')}"],
        "CHF": [f"CHF {_group(whole, chr(39))}.{cents}", f"CHF {us}"],
        "SEK": [f"{_group(whole, chr(160))} kr", f"{sp} kr", f"{sp} SEK"],
        "BRL": [f"R$ {eu}", f"R${eu}"],
        "INR": [f"₹{_group(whole, ',')}", f"₹ {us}", f"Rs. {us}"],
        "CAD": [f"CA${us}", f"C$ {us}", f"CAD {us}"],
    }[currency]
    return forms[style % len(forms)]


_CURRENCIES = (
    ["USD"] * 8 + ["EUR"] * 5 + ["GBP"] * 2 + ["PLN", "JPY", "CHF", "SEK", "BRL", "INR", "CAD"]
)
_LANG: dict[str, dict[str, Any]] = {
    "en": {
        "cart": ["Add to Cart", "Add to Bag", "Add to basket", "Buy now"],
        "was": ["Was", "List Price:", "Reg.", "Compare at", "MSRP"],
        "now": ["Now", "Sale", "Our price", "Price:", "Deal"],
        "save": "You save",
        "ship": "Shipping",
        "free": "Free shipping on orders over",
        "gone": [
            "This item is no longer available",
            "Discontinued",
            "Sorry, this product is no longer sold",
        ],
        "cartprice": [
            "See price in cart",
            "Add to cart to see price",
            "Price on request",
            "Call for pricing",
        ],
        "oos": "Out of stock",
        "related": "Customers also bought",
        "reviews": "ratings",
        "each": "each",
    },
    "de": {
        "cart": ["In den Warenkorb", "Jetzt kaufen"],
        "was": ["statt", "UVP", "Vorher"],
        "now": ["Jetzt", "Preis:", "Nur"],
        "save": "Sie sparen",
        "ship": "Versand",
        "free": "Versandkostenfrei ab",
        "gone": ["Dieser Artikel ist nicht mehr verfügbar", "Ausverkauft"],
        "cartprice": ["Preis auf Anfrage"],
        "oos": "Ausverkauft",
        "related": "Kunden kauften auch",
        "reviews": "Bewertungen",
        "each": "pro Stück",
    },
    "fr": {
        "cart": ["Ajouter au panier"],
        "was": ["Avant", "Prix conseillé"],
        "now": ["Prix :", "Maintenant"],
        "save": "Économisez",
        "ship": "Livraison",
        "free": "Livraison gratuite dès",
        "gone": ["Ce produit n'est plus disponible"],
        "cartprice": ["Prix sur demande"],
        "oos": "Épuisé",
        "related": "Vous aimerez aussi",
        "reviews": "avis",
        "each": "l'unité",
    },
    "pl": {
        "cart": ["Dodaj do koszyka"],
        "was": ["Cena regularna", "zamiast"],
        "now": ["Cena:", "Teraz"],
        "save": "Oszczędzasz",
        "ship": "Dostawa",
        "free": "Darmowa dostawa od",
        "gone": ["Produkt niedostępny"],
        "cartprice": ["Zapytaj o cenę"],
        "oos": "Wyprzedane",
        "related": "Podobne produkty",
        "reviews": "opinii",
        "each": "szt.",
    },
    "ja": {
        "cart": ["カートに入れる"],
        "was": ["通常価格"],
        "now": ["価格", "セール"],
        "save": "割引",
        "ship": "送料",
        "free": "送料無料",
        "gone": ["販売終了"],
        "cartprice": ["価格はお問い合わせ"],
        "oos": "在庫切れ",
        "related": "関連商品",
        "reviews": "件のレビュー",
        "each": "個",
    },
}
_NOUNS = [
    "Lamp",
    "Sconce",
    "Doormat",
    "Chair",
    "Kettle",
    "Backpack",
    "Headphones",
    "Sneakers",
    "Blender",
    "Rug",
    "Tent",
    "Watch",
    "Jacket",
    "Drill",
    "Tape",
    "Camera",
    "Sofa",
    "Mug",
]
_ADJ = ["Classic", "Modern", "Pro", "Ultra", "Vintage", "Compact", "Deluxe", "Eco", "Smart"]


class _Names:
    """Class names for one page: meaningful words, or hashed as CSS-in-JS builds write them."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.hashed = rng.random() < 0.35
        self.prefix = rng.choice(["", "pdp-", "product-", "c-", "tw-", "a-"])
        self.cache: dict[str, str] = {}

    def __call__(self, *words: str) -> str:
        key = " ".join(words)
        if key not in self.cache:
            if self.hashed and self.rng.random() < 0.85:
                self.cache[key] = "_" + "".join(
                    self.rng.choices(string.ascii_letters + string.digits, k=7)
                )
            else:
                self.cache[key] = " ".join(self.prefix + w for w in words)
        return self.cache[key]


def _amount(rng: random.Random, currency: str) -> Decimal:
    base = 10 ** rng.uniform(0.3, 3.4)
    if currency == "JPY":
        return Decimal(int(base * 110) // 10 * 10)
    whole = int(base)
    cents = rng.choice([99, 0, 95, 49, 0, 50, 90, rng.randint(0, 99)])
    return Decimal(f"{whole}.{cents:02d}")


def _attr(name: str, value: str) -> str:
    return f' {name}="{escape(value)}"' if value else ""


def _price_el(
    names: _Names, rng: random.Random, text: str, role: str, *, microdata: str = ""
) -> str:
    if role == "list":
        tag = rng.choice(["del", "s", "strike", "span", "span"])
        cls = names(
            rng.choice(
                [
                    "price-was",
                    "old-price",
                    "list-price",
                    "compare-at",
                    "strike",
                    "regular-price",
                    "price",
                ]
            )
        )
        style = (
            ' style="text-decoration: line-through"' if tag == "span" and rng.random() < 0.4 else ""
        )
        return f"<{tag}{_attr('class', cls)}{style}>{escape(text)}</{tag}>"
    tag = rng.choice(["span", "span", "div", "p", "strong", "b", "ins", "bdi"])
    cls = names(
        rng.choice(
            [
                "price",
                "sale-price",
                "price-now",
                "current-price",
                "final-price",
                "offer-price",
                "price__value",
                "amount",
                "value",
            ]
        )
    )
    style = f' style="font-size:{rng.choice([18, 20, 24, 28, 32])}px"' if rng.random() < 0.2 else ""
    if rng.random() < 0.2 and role == "main":
        sym = text[:1] if text[:1] in "$£€¥₹" else ""
        if sym:
            whole, _, dec = text[1:].partition(".")
            inner = f"<sup>{escape(sym)}</sup><span>{escape(whole)}</span>" + (
                f"<sup>.{escape(dec)}</sup>" if dec else ""
            )
            return f"<{tag}{_attr('class', cls)}{microdata}{style}>{inner}</{tag}>"
    return f"<{tag}{_attr('class', cls)}{microdata}{style}>{escape(text)}</{tag}>"


def synthetic_page(rng: random.Random) -> SyntheticPage:  # noqa: PLR0912, PLR0915 - one page, many shapes
    """One random product page with its known price (None when the page shows none)."""
    currency = rng.choice(_CURRENCIES)
    lang = (
        "en"
        if currency in ("USD", "GBP", "INR", "CAD")
        else rng.choice(
            {
                "EUR": ["de", "fr", "en"],
                "PLN": ["pl"],
                "JPY": ["ja", "en"],
                "CHF": ["de", "fr"],
                "SEK": ["en"],
                "BRL": ["en"],
            }[currency]
        )
    )
    words = _LANG[lang]
    style = rng.randrange(12)
    names = _Names(rng)

    def fmt(amount: Decimal) -> str:
        return _fmt(amount, currency, style)

    title = f"{rng.choice(_ADJ)} {rng.choice(_NOUNS)} {rng.randint(100, 999)}"
    price = _amount(rng, currency)
    on_sale = rng.random() < 0.4
    list_price = (
        (price * Decimal(rng.choice(["1.1", "1.2", "1.25", "1.5", "2"]))).quantize(price)
        if on_sale
        else None
    )
    kind = rng.random()
    shape = (
        "gone"
        if kind < 0.06
        else "cartprice"
        if kind < 0.11
        else "oos_noprice"
        if kind < 0.14
        else "priced"
    )
    hidden_visible = (
        shape == "priced" and rng.random() < 0.15
    )  # rendered by a script: not in the HTML
    expected: Decimal | None = price if shape == "priced" else None
    body: list[str] = []
    bare = rng.random() < 0.06
    # accessible copies of prices for screen readers: a site-wide habit, on every price or none
    sr_class = (
        rng.choice(["sr-only", "visually-hidden", "a-offscreen"]) if rng.random() < 0.25 else ""
    )
    head: list[str] = [f"<title>{escape(title)} | Shop</title>", '<meta charset="utf-8">']

    # header: navigation with prices, a mini-cart
    nav = [
        f'<li><a href="/c/{i}">{escape(rng.choice(_ADJ))} {escape(rng.choice(_NOUNS))}</a></li>'
        for i in range(rng.choice([4, 10, 30, 80]))
    ]
    if rng.random() < 0.5:
        nav.append(
            f'<a href="/deals">{"Under" if lang == "en" else "bis"} {fmt(Decimal(rng.choice([10, 25, 50, 100])))}</a>'
        )
    if rng.random() < 0.3:
        nav.append(
            f'<a href="/sale">{"Up to" if lang == "en" else ""} {fmt(Decimal(rng.choice([50, 100, 500])))} Off</a>'
        )
    if rng.random() < 0.3:  # a mega menu shopping by price
        nav += [
            f'<li><a href="/c/under-{n}">{escape(rng.choice(_NOUNS))}s under {fmt(Decimal(n))}</a></li>'
            for n in rng.sample(
                [10, 15, 20, 25, 30, 50, 75, 100, 150, 200, 250, 500], rng.randint(2, 12)
            )
        ]
    cart_total = (
        f'<span class="{names("cart-total")}">{fmt(Decimal("0.00"))}</span>'
        if rng.random() < 0.4
        else ""
    )
    body.append(
        f'<header class="{names("header")}"><nav class="{names("nav")}">{" ".join(nav)}</nav>'
        f'<div class="{names("mini-cart")}">Cart (0) {cart_total}</div></header>'
    )
    if rng.random() < 0.3:
        body.append(
            f'<div class="{names("promo-banner")}">{words["free"]} {fmt(Decimal(rng.choice([35, 49, 50, 99])))}</div>'
        )
    body.append(
        f'<ol class="{names("breadcrumb")}"><li><a href="/">Home</a></li><li>{escape(rng.choice(_NOUNS))}</li></ol>'
    )

    # the product block
    micro = rng.random() < 0.25
    scope = ' itemscope itemtype="https://schema.org/Product"' if micro else ""
    main: list[str] = [
        f'<div class="{names("gallery")}"><img src="/i/{rng.randint(1, 999)}.jpg" alt=""></div>'
    ]
    name_md = ' itemprop="name"' if micro else ""
    h1 = f'<h1 class="{names("title")}"{name_md}>{escape(title)}</h1>'
    main.append(h1)
    if rng.random() < 0.35:  # a gallery, feature bullets, a size chart between title and price
        n = rng.choice([10, 40, 150, 400])
        main.append(
            f'<div class="{names("details")}"><ul>'
            + "".join(
                f"<li><span>{escape(rng.choice(_ADJ))} detail {i}</span></li>" for i in range(n)
            )
            + "</ul></div>"
        )
    if rng.random() < 0.6:
        main.append(
            f'<div class="{names("rating")}">{rng.randint(30, 50) / 10} out of 5 stars ({rng.randint(3, 5000):,} {words["reviews"]})</div>'
        )
    price_html = ""
    offer_md = ' itemprop="offers" itemscope itemtype="https://schema.org/Offer"' if micro else ""
    md_price = ""
    if micro:
        md_price = (
            f' itemprop="price" content="{price}"' if rng.random() < 0.7 else ' itemprop="price"'
        )
    if shape == "priced" and not hidden_visible:
        parts = []
        main_el = _price_el(names, rng, fmt(price), "main", microdata=md_price)
        if on_sale and list_price is not None:
            label_was = rng.choice(words["was"]) + " " if rng.random() < 0.5 else ""
            label_now = rng.choice(words["now"]) + " " if rng.random() < 0.4 else ""
            was_el = (
                f"<span>{escape(label_was)}{_price_el(names, rng, fmt(list_price), 'list')}</span>"
            )
            now_el = f"<span>{escape(label_now)}{main_el}</span>"
            parts += [was_el, now_el] if rng.random() < 0.6 else [now_el, was_el]
            if rng.random() < 0.5:
                pct = round((1 - price / list_price) * 100)
                parts.append(
                    f'<span class="{names("savings")}">{words["save"]} {fmt(list_price - price)} ({pct}%)</span>'
                )
        else:
            label = rng.choice(words["now"]) + " " if rng.random() < 0.2 else ""
            parts.append(f"{escape(label)}{main_el}")
        if rng.random() < 0.2:
            n = rng.choice([2, 4, 6, 12])
            parts.append(
                f'<span class="{names("unit-price")}">({fmt((price / n).quantize(Decimal("0.01")))} / {words["each"]})</span>'
            )
        if rng.random() < 0.15:
            parts.append(
                f'<div class="{names("installments")}">or 4 interest-free payments of {fmt((price / 4).quantize(Decimal("0.01")))}</div>'
            )
        rng.shuffle(parts) if rng.random() < 0.1 else None
        price_html = f'<div class="{names("price-block")}"{offer_md}>{"".join(parts)}'
        if micro:
            price_html += f'<meta itemprop="priceCurrency" content="{currency}">'
        price_html += "</div>"
        if sr_class:  # an accessible copy for screen readers
            price_html += (
                f'<span class="{sr_class}">{escape(rng.choice(words["now"]))} {fmt(price)}</span>'
            )
        if rng.random() < 0.25:  # responsive layouts repeat the block for small screens
            price_html += f'<div class="{names("mobile-only")}">{_price_el(names, rng, fmt(price), "main")}</div>'
        if rng.random() < 0.25:  # a sticky bar repeats the price
            body.insert(
                1,
                f'<div class="{names("sticky-bar")}"><span>{escape(title)}</span> {_price_el(names, rng, fmt(price), "main")}</div>',
            )
    elif shape == "gone":
        if rng.random() < 0.5:
            price_html = f'<div class="{names("price-block")}">{_price_el(names, rng, fmt(price), "main")}</div>'
        price_html += (
            f'<div class="{names("availability")}">{escape(rng.choice(words["gone"]))}</div>'
        )
    elif shape == "cartprice":
        price_html = (
            f'<div class="{names("price-block")}">{escape(rng.choice(words["cartprice"]))}</div>'
        )
    elif shape == "oos_noprice":
        price_html = f'<div class="{names("availability")}">{escape(words["oos"])}</div>'
    if (
        rng.random() < 0.1
        and shape == "priced"
        and on_sale
        and list_price is not None
        and not hidden_visible
    ):
        # a table of labelled rows, the list price not struck through (an old shop layout)
        price_html = (
            f'<table class="{names("price-table")}"><tr><td>{escape(rng.choice(words["was"]))}</td>'
            f'<td><span class="{names("list-value")}">{fmt(list_price)}</span></td></tr>'
            f"<tr><td>{escape(rng.choice(words['now']))}</td><td>{_price_el(names, rng, fmt(price), 'main')}</td></tr></table>"
        )
    if rng.random() < 0.08 and shape == "priced" and not on_sale and not hidden_visible:
        # the currency in an element of its own, the amount bare
        price_html = (
            f'<div class="{names("price-block")}"><span class="{names("currency")}">{currency}</span> '
            f'<span class="{names("price")}">{price}</span></div>'
        )
    if rng.random() < 0.2:  # a buy box written before the title
        main.insert(0, price_html)
    else:
        main.append(price_html)
    if rng.random() < 0.3:
        opts = "".join(
            f"<option>{s}{' - ' + fmt(price) if rng.random() < 0.3 and shape == 'priced' else ''}"
            f"{' (' + words['oos'] + ')' if rng.random() < 0.2 else ''}</option>"
            for s in ("S", "M", "L")
        )
        main.append(f'<select class="{names("variant")}">{opts}</select>')
    if rng.random() < 0.2:  # swatches of other sizes, each with its price
        sw = "".join(
            f'<li class="{names("swatch")}"><label><span>{size}</span> <span class="{names("swatch-price")}">{fmt(_amount(rng, currency))}</span></label></li>'
            for size in rng.sample(
                ["1 pack", "2 pack", "XL", "Large", "Set of 4", "500 ml"], rng.randint(2, 4)
            )
        )
        main.insert(rng.randint(1, len(main)), f'<ul class="{names("variants")}">{sw}</ul>')
    # most pages have an "add to cart" button; some render it by script, a gone product may
    # keep a disabled one
    if rng.random() < (0.3 if shape == "gone" else 0.8):
        main.append(
            f'<button class="{names("add-to-cart")}" type="submit">{escape(rng.choice(words["cart"]))}</button>'
        )
    if rng.random() < 0.5:
        ship = fmt(Decimal(rng.choice(["4.99", "5.95", "9.90", "2.99", "0.00"])))
        main.append(f'<p class="{names("shipping")}">{words["ship"]}: {ship}</p>')
    main.append(
        f'<div class="{names("description")}"><p>Dimensions: {rng.randint(5, 90)} x {rng.randint(5, 90)} cm. Model {rng.randint(2010, 2025)}. Pack of {rng.randint(1, 12)}.</p></div>'
    )
    body.append(f'<main class="{names("product")}"{scope}>{"".join(main)}</main>')

    if rng.random() < 0.15 and shape == "priced":  # bought together: a bundle total
        other = _amount(rng, currency)
        body.append(
            f'<div class="{names("bundle")}"><span>{escape(rng.choice(_NOUNS))} {fmt(other)}</span>'
            f"<span>Total price: {fmt(other + price)}</span></div>"
        )

    # related products, after the product or ("recently viewed") before it
    if rng.random() < 0.75:
        cards = []
        for _ in range(rng.randint(2, 8)):
            rp = _amount(rng, currency)
            extra = f" {_price_el(names, rng, fmt(rp * 2), 'list')}" if rng.random() < 0.2 else ""
            badge = f"<em>{escape(words['oos'])}</em>" if rng.random() < 0.05 else ""
            sr = f'<span class="{sr_class}">{escape(fmt(rp))}</span>' if sr_class else ""
            cards.append(
                f'<li class="{names("product-card")}">{badge}<a href="/p/{rng.randint(1, 9999)}">{escape(rng.choice(_NOUNS))}</a>'
                f'<span class="{names("price")}">{escape(fmt(rp))}</span>{extra}{sr}</li>'
            )
        where = rng.choice(["section", "aside", "div"])
        related = f'<{where} class="{names("related-products")}"><h2>{words["related"]}</h2><ul>{"".join(cards)}</ul></{where}>'
        if rng.random() < 0.2:
            body.insert(len(body) - 1, related)
        else:
            body.append(related)
    body.append(
        f'<footer class="{names("footer")}"><p>Gift cards from {fmt(Decimal(10))}</p><p>© {rng.randint(2015, 2026)} Shop</p>'
        + "".join(
            f'<div><a href="/h/{i}">Help {i}</a></div>' for i in range(rng.choice([3, 15, 60]))
        )
        + "</footer>"
    )

    # structured data
    ld_price = price
    if on_sale and list_price is not None and rng.random() < 0.3:
        ld_price = list_price  # stale: the regular price, while the page shows the sale
    if rng.random() < 0.55 and shape != "cartprice":
        if shape == "priced" or (shape == "gone" and rng.random() < 0.5):
            amount: object = str(ld_price) if rng.random() < 0.6 else float(ld_price)
            avail = "https://schema.org/" + ("Discontinued" if shape == "gone" else "InStock")
            offer: dict[str, object] = {
                "@type": "Offer",
                "price": amount,
                "priceCurrency": currency,
                "availability": avail,
            }
            form = rng.random()
            if form < 0.15 and on_sale and list_price is not None:
                offer = {
                    "@type": "Offer",
                    "priceCurrency": currency,
                    "priceSpecification": [
                        {
                            "@type": "UnitPriceSpecification",
                            "price": str(price),
                            "priceCurrency": currency,
                        },
                        {
                            "@type": "UnitPriceSpecification",
                            "priceType": "https://schema.org/ListPrice",
                            "price": str(list_price),
                        },
                    ],
                }
            elif form < 0.3:
                offer = {
                    "@type": "AggregateOffer",
                    "lowPrice": amount,
                    "highPrice": str(ld_price * 2),
                    "priceCurrency": currency,
                    "offerCount": 3,
                }
            offers: object = [offer] if rng.random() < 0.3 else offer
        else:
            offers = {
                "@type": "Offer",
                "price": {},
                "priceCurrency": currency,
                "availability": "https://schema.org/OutOfStock",
            }
        product: dict[str, object] = {
            "@context": "https://schema.org",
            "@type": "Product",
            "name": title,
            "offers": offers,
        }
        if rng.random() < 0.2:
            product["isRelatedTo"] = [
                {
                    "@type": "Product",
                    "name": "x",
                    "offers": {"@type": "Offer", "price": str(_amount(rng, currency))},
                }
            ]
        data: object = (
            {
                "@context": "https://schema.org",
                "@graph": [{"@type": "WebPage", "name": title}, product],
            }
            if rng.random() < 0.25
            else product
        )
        head.append(f'<script type="application/ld+json">{json.dumps(data)}</script>')
    if rng.random() < 0.3 and shape in ("priced", "gone"):
        head.append(
            f'<meta property="og:type" content="product"><meta property="product:price:amount" content="{ld_price if rng.random() < 0.7 else str(ld_price).replace(".", ",")}">'
            f'<meta property="product:price:currency" content="{currency}">'
        )
    if (rng.random() < 0.3 or hidden_visible) and shape != "cartprice":
        state: dict[str, object] = {"sku": rng.randint(10000, 99999), "title": title}
        if shape in ("priced", "gone"):
            layout = rng.random()
            if layout < 0.4:
                state["price"] = {
                    "original": str(list_price or price),
                    "sale": str(price),
                    "symbol": currency,
                }
            elif layout < 0.7:
                state["salePrice"] = str(price)
                state["listPrice"] = str(list_price or price)
            else:
                state["price"] = (
                    float(price)
                    if not on_sale
                    else {"current": float(price), "was": float(list_price or price)}
                )
            state["shippingPrice"] = "4.99"
        state["related"] = [
            {"id": i, "price": str(_amount(rng, currency))} for i in range(rng.randint(0, 4))
        ]
        body.append(f"<script>window.__STATE__ = {json.dumps(state)};</script>")
    if rng.random() < 0.5:  # analytics and recommendation state: prices of other things
        noise = [
            {"item_id": rng.randint(1, 9999), "price": float(_amount(rng, currency))}
            for _ in range(rng.randint(1, 30))
        ]
        if shape == "priced" and rng.random() < 0.5:
            noise.insert(rng.randint(0, len(noise)), {"item_id": 1, "price": float(price)})
        layer: dict[str, object] = {"ecommerce": {"items": noise}, "cartTotal": 0}
        for key in rng.sample(
            [
                "freeShippingPriceThreshold",
                "minimum_price_display_message",
                "financingMinPrice",
                "salePriceBadgeLimit",
                "giftPrice",
                "promoPriceMessageAmount",
            ],
            rng.randint(0, 3),
        ):
            layer[key] = rng.choice([25, 35, 50, 99, 250])
        if rng.random() < 0.5:
            layer["recommended"] = [
                {
                    rng.choice(["salePrice", "ourPriceAmount", "currentPrice"]): str(
                        _amount(rng, currency)
                    ),
                    "finalPrice": str(_amount(rng, currency)),
                }
                for _ in range(rng.randint(1, 4))
            ]
        script = f"<script>dataLayer.push({json.dumps(layer)});</script>"
        # before or after the product's own state: being first says little
        body.insert(rng.randint(0, len(body)), script)
    if hidden_visible and rng.random() < 0.5:
        head.append(
            f'<meta property="product:price:amount" content="{price}"><meta property="product:price:currency" content="{currency}">'
        )
    if (
        hidden_visible
        and not any("ld+json" in h or "price:amount" in h for h in head)
        and "__STATE__" not in "".join(body)
    ):
        expected = None
    if bare:  # a page with the product block alone: no header, related products or footer
        body = [b for b in body if b.startswith(("<main", "<script"))]
    html = (
        f'<!DOCTYPE html><html lang="{lang}"><head>{"".join(head)}</head><body>'
        f'{"".join(body)}<script src="/app.js"></script></body></html>'
    )
    if shape == "priced" and hidden_visible:
        shape = "script_or_structured_only"
    return SyntheticPage(html, expected, currency if expected is not None else None, shape)
