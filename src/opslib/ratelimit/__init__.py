"""Per-domain rate limits every scraper replica obeys together (runbook: update_rate_limits).

``RateLimiter.acquire(domain)`` hands out permits from batches reserved in the shared database
(GCRA), ``retry_after`` honours a site's Retry-After for every replica, and a domain's limit is
changed with ``set_limit`` (``opslib ratelimit set``).
"""

from opslib.ratelimit._limiter import MAX_RETRY_AFTER, Permit, RateLimiter, RateLimitPlan
from opslib.ratelimit._model import (
    MAX_RATE,
    RateLimit,
    RateLimitTimeout,
    check_domain,
    format_rate,
    parse_rate,
)

__all__ = [
    "MAX_RATE",
    "MAX_RETRY_AFTER",
    "Permit",
    "RateLimit",
    "RateLimitPlan",
    "RateLimitTimeout",
    "RateLimiter",
    "check_domain",
    "format_rate",
    "parse_rate",
]
