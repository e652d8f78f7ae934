"""Updating the pool from lists: plan what changes (pure apart from reading the pool), then write
additions and retirements in one transaction, so a killed update adds nothing or everything."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from opslib.proxies._importer import ImportResult, LineProblem
from opslib.proxies._model import Proxy, ProxyState
from opslib.proxies._pool import ProxyPool

__all__ = ["ImportOutcome", "ImportPlan", "apply_import", "plan_import"]

_RETIRED_WHY = "no longer listed by its source"


@dataclass(frozen=True)
class ImportPlan:
    """What importing some lists changes: URLs added, retired (their source no longer lists
    them) and listed again; every listed proxy is written, new ones in ``state``."""

    sources: tuple[str, ...]
    state: ProxyState
    proxies: tuple[Proxy, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: tuple[str, ...]
    problems: tuple[LineProblem, ...]
    duplicates: int
    bad_lines: int


@dataclass(frozen=True)
class ImportOutcome:
    """What :func:`apply_import` wrote: proxies new to the pool, proxies retired."""

    added: int
    retired: int


def plan_import(
    pool: ProxyPool, lists: Sequence[ImportResult], state: ProxyState = ProxyState.ACTIVE
) -> ImportPlan:
    """Compare parsed ``lists`` with the pool; a later list wins for a URL listed twice."""
    known = {p.url: p for p in pool.proxies()}
    listed: dict[str, Proxy] = {}
    for result in lists:
        listed.update(result.proxies)
    names = {r.source for r in lists}
    removed = sorted(
        url for url, p in known.items()
        if p.source in names and url not in listed and p.state is not ProxyState.RETIRED
    )  # fmt: skip
    return ImportPlan(
        sources=tuple(r.source for r in lists),
        state=state,
        proxies=tuple(listed.values()),
        added=tuple(sorted(set(listed) - set(known))),
        removed=tuple(removed),
        unchanged=tuple(sorted(set(listed) & set(known))),
        problems=tuple(p for r in lists for p in r.problems),
        duplicates=sum(r.duplicates for r in lists),
        bad_lines=sum(r.bad_lines for r in lists),
    )


def apply_import(pool: ProxyPool, plan: ImportPlan) -> ImportOutcome:
    """Write ``plan`` in one transaction: every listed proxy added or refreshed (a retired one
    listed again comes back in ``plan.state``), the unlisted ones retired."""
    with pool.database.transaction():
        added = pool.upsert(plan.proxies, plan.state)
        retired = pool.set_state(plan.removed, ProxyState.RETIRED, _RETIRED_WHY)
    return ImportOutcome(added=added, retired=retired)
