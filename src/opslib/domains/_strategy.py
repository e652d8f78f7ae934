"""Scraping strategies: how the scrapers approach one domain (headers, user agents, pace,
proxies, retries, a browser), validated before it is stored, every version kept."""

from __future__ import annotations

import json
import random
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from opslib.errors import InputError

__all__ = ["HEADER_PROFILES", "Strategy", "StrategyVersion", "parse_strategy", "read_strategy"]

HEADER_PROFILES: Mapping[str, Mapping[str, str]] = {
    "default": {"User-Agent": "pricewatch-scraper/1.0", "Accept": "*/*"},
    "chrome-desktop": {
        "User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like"
        " Gecko) Chrome/124.0.0.0 Safari/537.36",
        "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "Accept-Language": "en-US,en;q=0.9",
    },
    "firefox-desktop": {
        "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0",
        "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "Accept-Language": "en-US,en;q=0.5",
    },
    "safari-mobile": {
        "User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "Accept-Language": "en-GB,en;q=0.9",
    },
}
"""The request headers each ``headers_profile`` sends (a strategy's ``headers`` add to them)."""

HeadersProfile = Literal["default", "chrome-desktop", "firefox-desktop", "safari-mobile"]
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class Strategy(BaseModel):
    """How scrapers request one domain. The default (no strategy stored) is the scrapers'
    plain behaviour: default headers, no delay, one retry at once, any proxy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    headers_profile: HeadersProfile = "default"
    headers: dict[str, str] = Field(default_factory=dict, description="added to the profile's")
    user_agents: tuple[str, ...] = Field(
        (), max_length=100, description="rotated per request (empty: the profile's)"
    )
    delay_seconds: float = Field(0.0, ge=0, le=3600, description="before each request")
    jitter_seconds: float = Field(0.0, ge=0, le=3600, description="a random extra delay up to")
    proxy_country: str | None = Field(None, description="two-letter country of the proxies")
    sticky_proxy: bool = Field(False, description="one proxy per scraper session")
    retries: int = Field(1, ge=0, le=10, description="further attempts after a failure")
    backoff_seconds: float = Field(0.0, ge=0, le=600, description="before the first retry")
    backoff_factor: float = Field(2.0, ge=1, le=10, description="each later retry waits x this")
    needs_browser: bool = Field(False, description="pages render only in a browser")
    conditional_requests: bool = Field(
        False,
        description="caching: send the page's ETag back (If-None-Match); a 304 is not extracted",
    )

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"not a header name: {name!r}")
            if "\r" in text or "\n" in text:
                raise ValueError(f"header {name}: a value cannot hold a line break")
        return value

    @field_validator("user_agents")
    @classmethod
    def _agents(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for agent in value:
            if not agent.strip() or "\r" in agent or "\n" in agent or len(agent) > 512:
                raise ValueError(f"not a user agent: {agent[:60]!r}")
        return value

    @field_validator("proxy_country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.fullmatch(r"[A-Za-z]{2}", value):
            raise ValueError(f"not a two-letter country code: {value!r}")
        return value.lower()

    def delay(self, rng: random.Random | None = None) -> float:
        """Seconds to wait before a request: ``delay_seconds`` plus up to ``jitter_seconds``."""
        jitter = (rng or random).uniform(0, self.jitter_seconds) if self.jitter_seconds else 0.0
        return self.delay_seconds + jitter

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first)."""
        return self.backoff_seconds * self.backoff_factor ** max(retry - 1, 0)

    def request_headers(self, n: int = 0) -> dict[str, str]:
        """The headers of request number ``n``: the profile's, the user agent in rotation,
        then ``headers``."""
        headers = dict(HEADER_PROFILES[self.headers_profile])
        if self.user_agents:
            headers["User-Agent"] = self.user_agents[n % len(self.user_agents)]
        headers.update(self.headers)
        return headers

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (every field, defaults included)."""
        return self.model_dump(mode="json")


@dataclass(frozen=True)
class StrategyVersion:
    """One stored version of a domain's strategy."""

    domain: str
    version: int
    strategy: Strategy
    active: bool
    actor: str
    created_at: datetime
    note: str = ""

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> StrategyVersion:
        """A version from a row of ``opslib.strategies``."""
        return cls(
            domain=str(row["domain"]),
            version=int(row["version"]),
            strategy=Strategy.model_validate(row["body"]),
            active=bool(row["active"]),
            actor=str(row["actor"]),
            created_at=row["created_at"],
            note=str(row["note"]),
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "domain": self.domain,
            "version": self.version,
            "active": self.active,
            "actor": self.actor,
            "created_at": self.created_at.isoformat(),
            "note": self.note,
            "strategy": self.strategy.as_dict(),
        }


def read_strategy(path: Path) -> Strategy:
    """A strategy from a ``.toml`` or ``.json`` file; InputError in one line naming the file
    and the first problem (unknown field, bad value, unreadable file)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError(f"{path}: cannot be read: {reason}") from None
    try:
        data: Any
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        elif path.suffix.lower() == ".toml":
            data = tomllib.loads(text)
        else:
            raise InputError(f"{path}: a strategy is a .toml or .json file")
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise InputError(f"{path}: not valid {kind}: {' '.join(str(exc).split())}") from None
    return parse_strategy(data, str(path))


def parse_strategy(data: Any, source: str = "strategy") -> Strategy:
    """A strategy from parsed data; InputError in one line on the first problem."""
    if not isinstance(data, dict):
        raise InputError(f"{source}: a strategy is a table of settings, not {type(data).__name__}")
    try:
        return Strategy.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        where = ".".join(str(p) for p in first["loc"]) or "strategy"
        message = first["msg"]
        if first["type"] == "extra_forbidden":
            known = ", ".join(Strategy.model_fields)
            message = f"unknown setting (known: {known})"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InputError(f"{source}: {where}: {message}{more}") from None
