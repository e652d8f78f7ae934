"""The likely cause of scraping errors, from the words that describe them, and the runbook's
action for each cause as a command.

The words come from wherever a platform says why a fetch failed: a label of its errors counter
(``outcome="proxy_error"``, ``reason="429"``), a log template (``HTTP 429 Too Many Requests``),
a site verdict. The matching is by keyword, so it works on names opslib has never seen.
"""

from __future__ import annotations

import re
from enum import Enum

__all__ = ["Cause", "action_for", "classify_error"]


class Cause(Enum):
    """Why requests to a domain fail, in the runbook's terms."""

    PROXIES = "our proxies failing"
    RATE_LIMITED = "rate-limiting us"
    BLOCKED = "blocking us"
    SITE_DOWN = "site down"
    SLOW = "slow (timeouts)"
    EXTRACTION = "page changed (extraction failing)"
    UNKNOWN = "unknown"


# Order matters: "proxy ... 429" is rate limiting seen through a proxy, "proxy timeout" is the
# proxy's fault; the first rule that matches wins.
_RULES: tuple[tuple[Cause, re.Pattern[str]], ...] = (
    (Cause.RATE_LIMITED, re.compile(r"\b429\b|rate.?limit|too.?many|throttl|retry.?after", re.I)),
    (Cause.BLOCKED, re.compile(r"\b403\b|\bban|captcha|block|forbidden|denied|\bbot\b", re.I)),
    # "proxy" alone may only name the route ("... via proxy 10.0.0.1:3128"): a proxy fault
    # says what went wrong with it.
    (
        Cause.PROXIES,
        re.compile(
            r"proxy.?error|proxy.{0,24}(refus|fail|time|unreach|auth|closed|reset|dead)|"
            # through a proxy, a connection that fails is the connection to the proxy
            r"(connect|refused|reset|unreachable).*\bproxy\b|socks|tunnel|\b407\b",
            re.I,
        ),
    ),
    (Cause.EXTRACTION, re.compile(r"pars|extract|selector|price.?not|no.?price", re.I)),
    (Cause.SLOW, re.compile(r"time.?out|timed.?out|deadline|slow", re.I)),
    (
        Cause.SITE_DOWN,
        re.compile(
            r"\b5\d\d\b|http.?error|refused|unreachable|reset|dns|resolv|no.?route|"
            r"connect|unavailable|bad.?gateway|server.?error|down",
            re.I,
        ),
    ),
)


def classify_error(text: str) -> Cause:
    """The cause ``text`` (a reason label value, a log line or template) most likely names."""
    for cause, pattern in _RULES:
        if pattern.search(text):
            return cause
    return Cause.UNKNOWN


_ACTIONS: dict[Cause, str] = {
    Cause.RATE_LIMITED: (
        "lower the rate (`opslib ratelimit set {domain} --rate {rate}`) and let the site cool"
        " down (`opslib domains cooldown {domain} --for 30m`)"
    ),
    Cause.BLOCKED: (
        "pause the domain (`opslib domains cooldown {domain} --for 30m`), rotate proxies"
        " (`opslib proxies rotate`) and change the strategy (`opslib strategies set {domain}"
        " --file STRATEGY`: headers, user agents, delay)"
    ),
    Cause.PROXIES: (
        "rotate the pool (`opslib proxies rotate`), then check the domain's proxy policy"
        " (`opslib proxies config {domain}`)"
    ),
    Cause.SITE_DOWN: (
        "confirm with `opslib sites verify {domain}`; stop hammering it until it is back"
        " (`opslib domains cooldown {domain} --for 30m`)"
    ),
    Cause.SLOW: (
        "confirm with `opslib sites verify {domain}`; send fewer requests at once"
        " (`opslib ratelimit set {domain} --rate {rate} --concurrency 2`)"
    ),
    Cause.EXTRACTION: "the pages changed: run `pytest checks/emergency/data_quality`",
    Cause.UNKNOWN: (
        "find the cause: `opslib logs patterns --since 1h` and `opslib sites verify {domain}`"
    ),
}


def action_for(cause: Cause, domain: str, requests_per_second: float | None = None) -> str:
    """The runbook's next step for ``domain`` failing for ``cause``, as commands to run.

    A suggested rate is half what the fleet sends now (when known).
    """
    rate = f"{max(requests_per_second / 2, 0.01):.2g}/s" if requests_per_second else "N/s"
    return _ACTIONS[cause].format(domain=domain, rate=rate)
