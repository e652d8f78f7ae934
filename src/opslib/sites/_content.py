"""Does an answer look like the shop, a block page or neither? Judged from the status and the
first part of the body, with markers common to shop pages and to bot walls (Cloudflare,
Akamai, Imperva, PerimeterX, DataDome, reCAPTCHA/hCaptcha)."""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime

from opslib.sites._model import Outcome

__all__ = ["BODY_LIMIT", "classify_answer", "retry_after_seconds"]

BODY_LIMIT = 256 * 1024
"""Bytes of a page read for the content check."""

# Searched in the lower-cased page as plain substrings: one regex of alternatives, case-folded,
# cost ~2 ms per 8 KB page, which for a thousand pages was the verification's main CPU cost.
_BLOCK = (
    b"captcha", b"cf-chl", b"challenge-platform", b"cf-browser-verification",
    b"attention required", b"access denied", b"request blocked", b"request unsuccessful",
    b"_incapsula_resource", b"datadome", b"pardon our interruption", b"are you a robot",
    b"unusual traffic", b"verify you are human", b"bot detection", b"you have been blocked",
    b"security check",
)  # fmt: skip
_SHOP = (
    b'itemprop="price', b"itemprop='price", b"itemprop=price", b'itemprop="offers',
    b"schema.org/product", b"schema.org/offer", b'"@type":"product"', b'"@type": "product"',
    b"product:price", b"add to cart", b"add-to-cart", b"add to basket", b"add to bag",
    b"/product",
)  # fmt: skip
_PRICE = re.compile(
    rb"class=[\"'][^\"']*\bprice\b|[\$\xa3]\s?\d|\xe2\x82\xac\s?\d"
    rb"|\d\s?(\xe2\x82\xac|z\xc5\x82|(eur|usd|gbp)\b)"
)
_BLOCKING_REDIRECTS = ("captcha", "challenge", "blocked", "denied", "/cdn-cgi/")
_REFUSED = frozenset({401, 403, 451})


def classify_answer(  # noqa: PLR0911 - one return per outcome
    status: int, body: bytes, marker: str | None = None, location: str | None = None
) -> tuple[Outcome, str]:
    """The outcome of an HTTP answer and a few words on why. ``marker`` is text the shop's
    pages always hold (configured); without one, a price or product marker is looked for. A
    redirect (``location``) to a captcha or challenge page is a block too."""
    size = f"{len(body) / 1024:.1f} KB" if len(body) >= 1024 else f"{len(body)} B"
    page = body.lower()
    found = [m.decode() for m in _BLOCK if m in page]
    markers = ", ".join(repr(m) for m in found[:3])
    if marker:
        shop = marker.encode() in body
    else:
        shop = any(m in page for m in _SHOP) or _PRICE.search(page) is not None
    if status == 429:
        return Outcome.LIMITED, f"HTTP 429, {size}"
    if status in _REFUSED:
        seen = f", {markers} in the page" if found else ""
        return Outcome.BLOCKED, f"HTTP {status}, {size}{seen}"
    if found and not shop:
        return Outcome.BLOCKED, f"HTTP {status}, a block page ({markers}, {size})"
    if status >= 500:
        return Outcome.ERROR, f"HTTP {status}, {size}"
    if 300 <= status < 400:
        where = (location or "").lower()
        if any(m in where for m in _BLOCKING_REDIRECTS):
            return Outcome.BLOCKED, f"HTTP {status}, redirect to a block page ({where[:100]!r})"
        return Outcome.OK, f"HTTP {status} redirect"
    if status >= 400:
        return Outcome.UNEXPECTED, f"HTTP {status}, {size}"
    if not shop:
        what = f"no {marker!r}" if marker else "no price or product marker"
        return Outcome.UNEXPECTED, f"HTTP {status}, not the shop's page ({what}, {size})"
    return Outcome.OK, f"HTTP {status}, {size}"


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (delay-seconds or an HTTP date)."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now)
