"""Rate limits as values: what an operator asks for (``2/s``), and a domain's limit as stored."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opslib.errors import InputError, OpsError

__all__ = [
    "RateLimit",
    "RateLimitTimeout",
    "check_domain",
    "format_rate",
    "parse_rate",
]

_RATE = re.compile(r"\s*(\d+(?:\.\d+)?|\.\d+)\s*/\s*(s|sec|second|m|min|minute|h|hour)\s*", re.I)
_PER = {"s": 1.0, "m": 60.0, "h": 3600.0}
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
MAX_RATE = 1_000_000.0
"""The highest rate a limit may have, in permits per second."""


class RateLimitTimeout(OpsError):
    """No permit for ``domain`` within the timeout; ``retry_in`` says when one may be free
    (seconds, None when unknown) and ``reason`` why (the rate, a Retry-After, concurrency)."""

    exit_code = 1

    def __init__(self, domain: str, reason: str, retry_in: float | None = None) -> None:
        super().__init__(f"no permit for {domain}: {reason}")
        self.domain = domain
        self.reason = reason
        self.retry_in = retry_in


def parse_rate(text: str) -> float:
    """Permits per second from ``N/s``, ``N/m`` or ``N/h`` (``2/s``, ``30/m``, ``0.5/s``);
    InputError for anything else, a rate of 0 or one above :data:`MAX_RATE`."""
    match = _RATE.fullmatch(text)
    if match is None:
        raise InputError(f"--rate {text!r}: write N/s, N/m or N/h (e.g. 2/s, 30/m, 600/h)")
    per = _PER[match[2][0].lower()]
    rate = float(match[1]) / per
    if rate <= 0 or not math.isfinite(rate):
        raise InputError(
            f"--rate {text!r}: a rate must be above 0 (to stop a domain: opslib domains pause)"
        )
    if rate > MAX_RATE:
        raise InputError(f"--rate {text!r}: at most {MAX_RATE:,.0f}/s")
    return rate


def format_rate(rate: float) -> str:
    """``2/s``, ``30/m``, ``0.5/h``: the unit that shows it without a long fraction."""
    for unit, per in (("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        value = rate * per
        if value >= 1 and abs(value - round(value, 2)) < 1e-9:
            return f"{value:g}/{unit}"
    return f"{rate * 3600:.4g}/h"


def check_domain(domain: str) -> str:
    """The domain in lower case without a trailing dot; InputError when it is not one."""
    name = domain.strip().lower().rstrip(".")
    if len(name) > 253 or not _DOMAIN.fullmatch(name):
        raise InputError(f"not a domain name: {domain!r} (e.g. alpha-shop.test)")
    return name


@dataclass(frozen=True)
class RateLimit:
    """A domain's limit: ``rate`` permits per second, ``burst`` at once, at most
    ``concurrency`` requests in flight (None: no such limit). ``configured`` is False when the
    domain uses the configured default; ``blocked_until`` is the latest Retry-After."""

    domain: str
    rate: float
    burst: int
    concurrency: int | None = None
    configured: bool = True
    blocked_until: datetime | None = None
    blocked_reason: str | None = None
    in_flight: int = 0
    changed_at: datetime | None = None
    changed_by: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any], default_rate: float, default_burst: int) -> RateLimit:
        """A limit from a row of ``opslib.rate_limits`` (NULL rate: the defaults given)."""
        configured = row["rate"] is not None
        return cls(
            domain=str(row["domain"]),
            rate=float(row["rate"]) if configured else default_rate,
            burst=int(row["burst"]) if configured else default_burst,
            concurrency=row.get("concurrency"),
            configured=configured,
            blocked_until=row.get("blocked_until"),
            blocked_reason=row.get("blocked_reason"),
            in_flight=int(row.get("in_flight") or 0),
            changed_at=row.get("changed_at"),
            changed_by=row.get("changed_by"),
        )

    def describe(self) -> str:
        """``2/s, burst 5, concurrency 3`` (``(default)`` when not configured)."""
        text = f"{format_rate(self.rate)}, burst {self.burst}"
        if self.concurrency is not None:
            text += f", concurrency {self.concurrency}"
        return text if self.configured else f"{text} (default)"

    def window_bound(self, seconds: float) -> float:
        """The most permits it admits in any window of ``seconds``: rate x seconds + burst."""
        return self.rate * seconds + self.burst

    def as_dict(self, now: datetime | None = None) -> dict[str, Any]:
        """JSON-ready."""
        blocked = self.blocked_until
        active_block = blocked is not None and (now is None or blocked > now)
        return {
            "domain": self.domain,
            "rate": self.rate,
            "rate_text": format_rate(self.rate),
            "burst": self.burst,
            "concurrency": self.concurrency,
            "configured": self.configured,
            "in_flight": self.in_flight,
            "blocked_until": blocked.isoformat() if blocked and active_block else None,
            "blocked_reason": self.blocked_reason if active_block else None,
            "changed_at": self.changed_at.isoformat() if self.changed_at else None,
            "changed_by": self.changed_by,
        }
