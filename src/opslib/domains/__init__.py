"""Per-domain controls (runbook: enable_cooldown, update_strategies): cooldown and pause that
every scraper honours, auto-cooldown on a high ban share, and versioned scraping strategies.

Scrapers ask ``DomainControls.is_allowed(domain)`` and ``DomainControls.strategy(domain)``
(cached); operators use ``opslib domains ...`` and ``opslib strategies ...``.
"""

from opslib.domains._controls import AUTO_ACTOR, AutoCooldown, DomainControls
from opslib.domains._state import DomainPlan, DomainState, parse_duration
from opslib.domains._strategy import (
    HEADER_PROFILES,
    Strategy,
    StrategyVersion,
    parse_strategy,
    read_strategy,
)

__all__ = [
    "AUTO_ACTOR",
    "HEADER_PROFILES",
    "AutoCooldown",
    "DomainControls",
    "DomainPlan",
    "DomainState",
    "Strategy",
    "StrategyVersion",
    "parse_duration",
    "parse_strategy",
    "read_strategy",
]
