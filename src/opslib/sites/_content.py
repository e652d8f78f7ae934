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

_BLOCK = re.compile(
    rb"captcha|cf-chl|challenge-platform|cf-browser-verification|attention required"
    rb"|access denied|request blocked|request unsuccessful|_incapsula_resource|px-captcha"
    rb"|datadome|pardon our interruption|are you a robot|unusual traffic|verify you are human"
    rb"|bot detection|you have been blocked|security check",
    re.IGNORECASE,
)
_SHOP = re.compile(
    rb"itemprop=[\"']?(price|offers)|schema\.org/(product|offer)|\"@type\"\s*:\s*\"product\""
    rb"|og:type\"?\s+content=\"?product|product:price|class=[\"'][^\"']*\bprice\b"
    rb"|add[ -]to[ -](cart|basket|bag)|[\$\xa3]\s?\d|\d\s?(\xe2\x82\xac|z\xc5\x82|(eur|usd|gbp)\b)"
    rb"|\xe2\x82\xac\s?\d|/product",
    re.IGNORECASE,
)
_REFUSED = frozenset({401, 403, 451})


def classify_answer(  # noqa: PLR0911 - one return per outcome
    status: int, body: bytes, marker: str | None = None
) -> tuple[Outcome, str]:
    """The outcome of an HTTP answer and a few words on why. ``marker`` is text the shop's
    pages always hold (configured); without one, a price or product marker is looked for."""
    size = f"{len(body) / 1024:.1f} KB" if len(body) >= 1024 else f"{len(body)} B"
    found = sorted({m[0].decode(errors="replace").lower() for m in _BLOCK.finditer(body)})
    markers = ", ".join(repr(m) for m in found[:3])
    shop = body.find(marker.encode()) >= 0 if marker else _SHOP.search(body) is not None
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
