"""Small product pages of each shape, written here (the dev set is read in place elsewhere)."""

from __future__ import annotations

import json

__all__ = ["NAV", "RELATED", "ld", "page"]

NAV = (
    '<header><nav><a href="/deals">Under $25</a> <a href="/gifts">Gifts from $10</a></nav>'
    '<div class="mini-cart">Cart (0) <span class="cart-total">$0.00</span></div></header>'
)
RELATED = (
    '<section class="related-products"><h2>Customers also bought</h2><ul>'
    '<li class="product-card"><a href="/p/1">Mug</a> <span class="price">$12.00</span></li>'
    '<li class="product-card"><a href="/p/2">Lamp</a> <span class="price">$89.50</span></li>'
    "</ul></section>"
)


def page(product: str, *, head: str = "", title: str = "Classic Lamp 200", lang: str = "en") -> str:
    """A page with a header, the product block, related products and a footer."""
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>'
        f"{head}</head><body>{NAV}<main><h1>{title}</h1>{product}"
        '<button class="add-to-cart">Add to Cart</button></main>'
        f"{RELATED}<footer><p>Free shipping on orders over $35</p></footer></body></html>"
    )


def ld(data: object) -> str:
    """A JSON-LD script element."""
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'
