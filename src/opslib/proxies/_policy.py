"""Changing a domain's proxy policy: plan the new policy from the options given, then store it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from opslib.errors import InputError
from opslib.proxies._pool import DomainPolicy, ProxyPool

__all__ = ["ANY_COUNTRY", "PolicyPlan", "apply_policy", "plan_policy"]

ANY_COUNTRY = "-"
"""The country value that clears a domain's country preference (``--country -``)."""


@dataclass(frozen=True)
class PolicyPlan:
    """A domain's policy now and after the change; ``changes`` holds only the fields asked
    for, as (field, new value)."""

    old: DomainPolicy
    new: DomainPolicy
    changes: tuple[tuple[str, Any], ...]

    @property
    def changed(self) -> tuple[str, ...]:
        """Names of the fields asked for, sorted."""
        return tuple(sorted(name for name, _value in self.changes))


def plan_policy(
    pool: ProxyPool,
    domain: str,
    *,
    country: str | None = None,
    sticky: bool | None = None,
    max_concurrency: int | None = None,
    ban_statuses: Sequence[int] = (),
    ban_patterns: Sequence[str] = (),
    ban_minutes: int | None = None,
) -> PolicyPlan:
    """The policy of ``domain`` with the given options changed (None or empty: unchanged);
    ``country`` is two letters, or :data:`ANY_COUNTRY` for any country."""
    old = pool.policy(domain)
    changes: list[tuple[str, Any]] = []
    if country is not None:
        code = None if country == ANY_COUNTRY else country.lower()
        if code is not None and (len(code) != 2 or not code.isalpha()):
            raise InputError(f"invalid country code {country!r}")
        changes.append(("country", code))
    if sticky is not None:
        changes.append(("sticky", sticky))
    if max_concurrency is not None:
        _at_least_one("max_concurrency", max_concurrency)
        changes.append(("max_concurrency", max_concurrency))
    if ban_statuses:
        if not all(100 <= s <= 599 for s in ban_statuses):
            raise InputError(f"ban statuses must be HTTP statuses 100-599: {list(ban_statuses)}")
        changes.append(("ban_statuses", tuple(ban_statuses)))
    if ban_patterns:
        changes.append(("ban_patterns", tuple(ban_patterns)))
    if ban_minutes is not None:
        _at_least_one("ban_minutes", ban_minutes)
        changes.append(("ban_minutes", ban_minutes))
    return PolicyPlan(old, replace(old, **dict(changes)), tuple(changes))


def apply_policy(pool: ProxyPool, plan: PolicyPlan) -> bool:
    """Store ``plan.new`` if anything was asked to change; say whether it was stored."""
    if not plan.changes:
        return False
    pool.set_policy(plan.new)
    return True


def _at_least_one(name: str, value: int) -> None:
    if value < 1:
        raise InputError(f"{name} must be at least 1, not {value}")
