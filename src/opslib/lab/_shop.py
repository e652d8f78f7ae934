"""The shop sites: one HTTP server on 127.0.0.1 answering for every ``*-shop.test`` domain.

Routing is by the Host header. Latency, error rate and page layout of each domain come from the
lab's control file, so faults change what the scrapers see within a fraction of a second.
Run as ``python -m opslib.lab._shop --state-dir DIR``.
"""

from __future__ import annotations

import argparse
import email.utils
import hashlib
import html
import json
import math
import random
import re
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from opslib.lab._catalog import Product, catalog
from opslib.lab._control import SITE_SLOW_SECONDS, Control, ControlFile, DomainControl, Layout
from opslib.lab._paths import LabPaths, load_recorded
from opslib.lab._settings import LabSettings

__all__ = ["ShopServer", "main", "page_layout", "render_product"]

_SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$", "PLN": "zł", "SEK": "kr"}
_ERROR_MIX = (500, 502, 503, 503, 429)
_UNAVAILABLE = (
    b"<html><head><title>503 Service Unavailable</title></head><body>"
    b"<h1>503 Service Unavailable</h1><p>No server is available to handle this request.</p>"
    b"</body></html>\n"
)


def _http_date(value: str | None) -> int | None:
    """An HTTP date (If-Modified-Since) as Unix seconds; None when absent or invalid (the
    condition is then ignored, RFC 9110 13.1.3)."""
    if not value:
        return None
    try:
        return int(email.utils.parsedate_to_datetime(value).timestamp())
    except (TypeError, ValueError):
        return None


def _captcha(host: str) -> bytes:
    """The bot wall's challenge page (as Cloudflare's "Just a moment..." pages look)."""
    return (
        "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
        '<div id="cf-chl-widget"><h1>Checking if the site connection is secure</h1>'
        f"<p>{html.escape(host)} needs to review the security of your connection before"
        ' proceeding. Please complete the captcha.</p><div class="g-recaptcha"></div>'
        "</div></body></html>\n"
    ).encode()


_PRODUCT_PATH = re.compile(r"^/product/(\d+)/?$")


def _money(amount: float, currency: str, style: str = "eu") -> str:
    symbol = _SYMBOLS.get(currency, currency)
    if style == "code":
        return f"{currency} {amount:.2f}"
    if currency in ("GBP", "USD"):
        return f"{symbol}{amount:,.2f}"
    return f"{amount:,.2f}".replace(",", " ").replace(".", ",") + f" {symbol}"


def page_layout(product: Product, control: Control) -> Layout:
    """The layout the shop serves for ``product`` under ``control``."""
    if product.out_of_stock:
        return "noprice"
    # A stable pseudo-random subset of pages, the same on every request.
    hidden = (product.n * 2654435761 % 1000) / 1000 < control.missing_share
    if hidden and control.missing_domain in (None, product.domain):
        return "noprice"
    domain = control.domains.get(product.domain)
    return domain.layout if domain else "standard"


def render_product(product: Product, layout: Layout, epoch: float) -> str:
    """The product page. ``standard`` is the shops' usual template, whose offer comes in the
    shapes real shops use (microdata with or without a currency, a price class only, JSON-LD
    only, the price in a script's state, a struck-through list price); ``changed`` swaps the
    offer for a box of several prices and no structured data; ``redesign`` is a new template
    altogether (another skeleton around that box), as a shop's relaunch is."""
    price = product.price_at(epoch)
    name = html.escape(product.name)
    shop = product.domain.split("-")[0].title()
    if layout == "redesign":
        return _redesign(product, price, name, shop)
    head = ""
    if layout == "noprice":
        offer = '<p class="availability">Currently unavailable. <a href="/notify">Notify me</a></p>'
    elif layout == "changed":
        offer = f'<div class="pdp-amount">{_price_box(product, price)}</div>'
    else:
        offer, head = _standard_offer(product, price)
    return (
        "<!doctype html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{name} | {shop} Shop</title>'
        f"{head}</head>\n"
        f'<body><header><a href="/">{shop} Shop</a></header>\n'
        '<main><div class="product" itemscope itemtype="https://schema.org/Product">\n'
        f'<h1 itemprop="name">{name}</h1>\n'
        f'<p class="sku">SKU {product.n:06d}</p>\n'
        f'<div class="offer" itemprop="offers" itemscope itemtype="https://schema.org/Offer">\n'
        f"{offer}\n</div></div></main>\n"
        "<footer>Prices include VAT.</footer></body></html>\n"
    )


def _price_box(product: Product, price: float) -> str:
    """Several prices in plain rows, as many shops show them: the price, per unit, the list
    price, a bundle and shipping, none marked up as what it is."""
    rows = (
        _money(price, product.currency),
        f"{_money(price / 3, product.currency)} / 100 g",
        _money(price * 1.25, product.currency),
        f"2 for {_money(price * 1.8, product.currency)}",
        f"+ {_money(4.95, product.currency)}",
    )
    return "".join(f'<div class="row"><span>{row}</span></div>' for row in rows)


def _redesign(product: Product, price: float, name: str, shop: str) -> str:
    nav = "".join(f'<li class="nav-item"><a href="/c/{c}">{c.title()}</a></li>' for c in _NAV)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{shop} - {name}</title>'
        '<link rel="stylesheet" href="/static/app.css"></head>\n'
        f'<body class="theme-2"><div id="root"><nav class="topbar"><ul>{nav}</ul></nav>\n'
        '<section class="pdp"><div class="pdp-gallery"><img src="/img/p.jpg" alt=""></div>\n'
        f'<div class="pdp-info"><h2 class="pdp-title">{name}</h2>'
        f'<div class="pdp-meta"><span>Art.-Nr. {product.n:06d}</span></div>\n'
        f'<div class="buy-box">{_price_box(product, price)}'
        '<button class="add-to-cart">Add to cart</button></div></div></section>\n'
        '<aside class="reco"><h3>You may also like</h3></aside></div>\n'
        '<div class="site-footer"><p>All prices incl. VAT.</p></div></body></html>\n'
    )


_NAV = ("new", "sale", "brands", "outlet")


def _standard_offer(product: Product, price: float) -> tuple[str, str]:  # noqa: PLR0911 - a return per shape
    """The offer of the standard template and what it adds to the head, by the product's
    shape: a stable share of pages carries its price only in JSON-LD or a script's state."""
    text = _money(price, product.currency)
    content = f"{price:.2f}"
    currency_meta = f'<meta itemprop="priceCurrency" content="{product.currency}">'
    microdata = f'<span class="price" itemprop="price" content="{content}">'
    if product.n % 10 == 7:  # JSON-LD only
        data = {
            "@context": "https://schema.org",
            "@type": "Product",
            "name": product.name,
            "sku": f"{product.n:06d}",
            "offers": {"@type": "Offer", "price": content, "priceCurrency": product.currency},
        }
        script = f'<script type="application/ld+json">{json.dumps(data)}</script>'
        return f'<div class="cost">{text}</div>', script
    if product.n % 10 == 9:  # the price in a script's state, drawn by the page's code
        state = json.dumps(
            {"sku": f"{product.n:06d}", "price": price, "currency": product.currency}
        )
        return f'<div id="price-app"></div><script>window.__PRODUCT__ = {state};</script>', ""
    match product.variant:
        case 0:
            return f"{microdata}{text}</span>{currency_meta}", ""
        case 1:
            return f"{microdata}{text}</span>", ""
        case 2:
            return f"{microdata}{_money(price, product.currency, 'code')}</span>{currency_meta}", ""
        case 3:
            return f'<span class="price">{text}</span>', ""
        case _:
            was = _money(price * 1.15, product.currency)
            offer = f'{microdata}{text}</span>{currency_meta}<span class="was"><s>{was}</s></span>'
            return offer, ""


class _Handler(BaseHTTPRequestHandler):
    server: ShopServer
    server_version = "lab-shop/1.0"
    sys_version = ""
    error_content_type = "text/plain; charset=utf-8"
    error_message_format = "%(code)d %(message)s\n"
    _random: ClassVar[random.Random] = random.Random()  # noqa: S311 - simulation, not security

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the scrapers log what matters."""

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        host = (self.headers.get("Host") or "").split(":", 1)[0].lower()
        if path == "/judge":
            self._judge()
        elif path == "/health":
            self._send(200, b"ok\n", "text/plain; charset=utf-8")
        elif host not in self.server.products:
            self._send(404, b"unknown shop\n", "text/plain; charset=utf-8")
        else:
            self._shop(host, path)

    def _shop(self, host: str, path: str) -> None:
        control = self.server.control.read()
        domain = control.domains.get(host)
        if domain is not None and self._outage(host, domain):
            return
        if domain is not None:
            jitter = self._random.uniform(0.6, 1.4) * (8 if self._random.random() < 0.01 else 1)
            time.sleep(
                domain.latency_ms * jitter / 1000 + (SITE_SLOW_SECONDS if domain.slow else 0)
            )
        if self.client_address[0] in self.server.banned(control):
            self._send(403, b"Access denied\n", "text/plain; charset=utf-8")
            return
        match = _PRODUCT_PATH.match(path)
        product = self.server.products[host].get(int(match[1])) if match else None
        status = self._random_error(domain, product)
        if status is not None:
            self._send(status, f"{status} error\n".encode(), "text/plain; charset=utf-8")
            return
        if path in ("", "/"):
            links = "".join(
                f'<li><a href="/product/{p.n}">{html.escape(p.name)}</a></li>'
                for p in self.server.products[host].values()
            )
            self._send(200, f"<html><body><ul>{links}</ul></body></html>".encode(), "text/html")
            return
        if product is None:
            self._send(404, b"no such product\n", "text/plain; charset=utf-8")
            return
        if domain is not None and self._random.random() < domain.price_glitch:  # price-jump
            product = replace(product, base_price=product.base_price * 100)
        page = render_product(product, page_layout(product, control), time.time())
        self._page(host, path, page.encode())

    def _page(self, host: str, path: str, body: bytes) -> None:
        """A product page with its ETag and Last-Modified; 304 Not Modified when the client
        holds this version: its ETag in If-None-Match or, without If-None-Match (which takes
        precedence, RFC 9110 13.2.2), a date in If-Modified-Since not before Last-Modified."""
        etag = f'"{hashlib.sha256(body).hexdigest()[:20]}"'
        modified = self.server.modified(host, path, etag)
        if self.headers.get("If-None-Match") is not None:
            fresh = etag in (self.headers.get("If-None-Match") or "")
        else:
            since = _http_date(self.headers.get("If-Modified-Since"))
            fresh = since is not None and modified <= since
        self.send_response(304 if fresh else 200)
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", email.utils.formatdate(modified, usegmt=True))
        self.send_header("Content-Type", "text/html; charset=utf-8")
        if not fresh:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if not fresh:
            self.wfile.write(body)

    def _outage(self, host: str, domain: DomainControl) -> bool:
        """Answer for a site-down, site-blocking or rate-limited shop; False when none applies.
        Each answers at once, as the load balancer or bot wall in front of a shop does."""
        if domain.down:
            self._send(503, _UNAVAILABLE, "text/html; charset=utf-8")
            return True
        if domain.block_proxies and self.client_address[0] in self.server.proxy_sources:
            self._send(403, _captcha(host), "text/html; charset=utf-8")
            return True
        if domain.rate_limit is not None:
            wait = self.server.admit(host, domain.rate_limit)
            if wait > 0:
                body = b"429 Too Many Requests: slow down\n"
                self._send(429, body, "text/plain; charset=utf-8", retry_after=math.ceil(wait))
                return True
        return False

    def _random_error(self, domain: DomainControl | None, product: Product | None) -> int | None:
        """The error status to answer instead of the page, if any. A burst (a fixed status)
        fails every page of the shop; a healthy shop's background errors hit only the product
        pages the workers fetch, so its front page or a 404 answers the same way every time."""
        if domain is None or (domain.error_status is None and product is None):
            return None
        if self._random.random() >= domain.error_rate:
            return None
        return domain.error_status or self._random.choice(_ERROR_MIX)

    def _judge(self) -> None:
        body = {
            "client_ip": self.client_address[0],
            "headers": dict(self.headers.items()),
        }
        self._send(200, json.dumps(body).encode(), "application/json")

    # A background 429 asks for a short pause: the workers honour Retry-After fleet-wide, and
    # 30 s for a random error would hold a healthy domain a good share of the time.
    def _send(self, status: int, body: bytes, content_type: str, *, retry_after: int = 2) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        if status == 429:
            self.send_header("Retry-After", str(retry_after))
        self.end_headers()
        self.wfile.write(body)


class ShopServer(ThreadingHTTPServer):
    """Every shop domain of the lab on one port."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, settings: LabSettings, control: ControlFile) -> None:
        self.products: dict[str, dict[int, Product]] = {}
        for product in catalog(settings):
            self.products.setdefault(product.domain, {})[product.n] = product
        self.control = control
        self._proxy_sources = {
            label: settings.proxy_source_ip(i) for i, (label, _c, _p) in enumerate(settings.proxies)
        }
        # The addresses the lab's proxies connect from: a request from one came through a proxy.
        self.proxy_sources = frozenset(self._proxy_sources.values())
        self._buckets: dict[str, tuple[float, float]] = {}  # host -> (tokens, at)
        self._buckets_lock = threading.Lock()
        self._versions: dict[tuple[str, str], tuple[str, int]] = {}  # page -> (ETag, modified)
        self._versions_lock = threading.Lock()
        super().__init__(("127.0.0.1", settings.shop_port), _Handler)

    def admit(self, host: str, rate: float) -> float:
        """Count a request to ``host`` against ``rate`` per second (a token bucket, burst 1):
        0 when admitted, else the seconds until the next one would be."""
        now = time.monotonic()
        with self._buckets_lock:
            tokens, at = self._buckets.get(host, (1.0, now))
            tokens = min(1.0, tokens + (now - at) * rate)
            if tokens >= 1.0:
                self._buckets[host] = (tokens - 1.0, now)
                return 0.0
            self._buckets[host] = (tokens, now)
            return (1.0 - tokens) / rate

    def modified(self, host: str, path: str, etag: str) -> int:
        """When this server first served version ``etag`` of the page (whole Unix seconds,
        as Last-Modified has them): a new version gets a later second than the one before,
        so a client's If-Modified-Since never takes it for the version it holds."""
        now = int(time.time())
        with self._versions_lock:
            held = self._versions.get((host, path))
            if held is not None and held[0] == etag:
                return held[1]
            at = now if held is None else max(now, held[1] + 1)
            self._versions[(host, path)] = (etag, at)
            return at

    def banned(self, control: Control) -> set[str]:
        """Client addresses the shops refuse: banned exit IPs and proxies marked banned."""
        found = set(control.banned_sources)
        for label, proxy in control.proxies.items():
            if proxy.mode == "banned" and label in self._proxy_sources:
                found.add(self._proxy_sources[label])
        return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="opslib-lab-shop")
    parser.add_argument("--state-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    settings = load_recorded(args.state_dir)
    control = ControlFile(LabPaths(args.state_dir).control)
    server = ShopServer(settings, control)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"shop: {len(server.products)} domains on 127.0.0.1:{settings.shop_port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
