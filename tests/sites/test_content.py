"""classify_answer and Retry-After: the page's status and markers decide."""

from __future__ import annotations

import pytest

from opslib.sites import Outcome, classify_answer, retry_after_seconds
from tests.sites.servers import CAPTCHA, SHOP_PAGE

RECAPTCHA_ON_SHOP = SHOP_PAGE.replace(b"</body>", b'<div class="g-recaptcha"></div></body>')


@pytest.mark.parametrize(
    ("status", "body", "marker", "outcome"),
    [
        (200, SHOP_PAGE, None, Outcome.OK),
        (200, RECAPTCHA_ON_SHOP, None, Outcome.OK),  # a review form's captcha on a product page
        (200, CAPTCHA, None, Outcome.BLOCKED),
        (200, b"<html>Request unsuccessful. Incapsula incident ID</html>", None, Outcome.BLOCKED),
        (403, b"", None, Outcome.BLOCKED),
        (451, b"unavailable for legal reasons", None, Outcome.BLOCKED),
        (429, b"", None, Outcome.LIMITED),
        (503, b"<h1>Service Unavailable</h1>", None, Outcome.ERROR),
        (503, CAPTCHA, None, Outcome.BLOCKED),  # Cloudflare's challenge comes as 503 too
        (404, SHOP_PAGE, None, Outcome.UNEXPECTED),
        (301, b"", None, Outcome.OK),
        (200, b"<html>Welcome to nginx!</html>", None, Outcome.UNEXPECTED),
        (200, b"<html>Welcome to nginx!</html>", "nginx", Outcome.OK),
        (200, SHOP_PAGE, "Acme Shop", Outcome.UNEXPECTED),  # a configured marker must be there
        (200, "<p>Prix: 12,50 \u20ac</p>".encode(), None, Outcome.OK),
        (200, b"<p>Total: $12.50</p>", None, Outcome.OK),
    ],
    ids=lambda v: v.name if isinstance(v, Outcome) else None,
)
def test_classify(status: int, body: bytes, marker: str | None, outcome: Outcome) -> None:
    assert classify_answer(status, body, marker)[0] is outcome


def test_a_redirect_to_a_challenge_is_a_block() -> None:
    assert classify_answer(302, b"", location="/cdn-cgi/challenge?x=1")[0] is Outcome.BLOCKED
    assert classify_answer(302, b"", location="https://shop.test/en/")[0] is Outcome.OK


def test_the_markers_found_are_named() -> None:
    outcome, detail = classify_answer(200, CAPTCHA)
    assert outcome is Outcome.BLOCKED
    assert "'captcha'" in detail
    assert "'cf-chl'" in detail
    assert "155 B" in detail


def test_retry_after() -> None:
    assert retry_after_seconds("120", 0) == 120
    assert retry_after_seconds(None, 0) is None
    assert retry_after_seconds("soon", 0) is None
    now = 1_700_000_000.0
    assert retry_after_seconds("Tue, 14 Nov 2023 22:14:20 GMT", now) == pytest.approx(60)
    assert retry_after_seconds("Tue, 14 Nov 2023 22:00:00 GMT", now) == 0
