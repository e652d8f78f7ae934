"""Updating the pool from lists: plan what changes (pure apart from reading the pool), then write
additions and retirements in one transaction, so a killed update adds nothing or everything.

Concurrent updates are serialised: :func:`apply_import` takes :data:`IMPORT_LOCK` (the lock
rotation takes too) for its transaction, plans again under it, and locks the rows it writes in
URL order, so two updates end as one after the other would, and never deadlock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from opslib.proxies._importer import ImportResult, LineProblem
from opslib.proxies._model import Proxy, ProxyState
from opslib.proxies._pool import ProxyPool
from opslib.proxies._rotation import _LOCK as _ROTATION_LOCK

__all__ = ["IMPORT_LOCK", "ImportOutcome", "ImportPlan", "apply_import", "plan_import"]

IMPORT_LOCK = _ROTATION_LOCK
"""Advisory lock key held (per transaction) by every update and rotation of the pool."""
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
    """What :func:`apply_import` wrote: proxies new to the pool, proxies retired, proxies
    listed again (as planned under the lock, which may differ from the plan passed in)."""

    added: int
    retired: int
    unchanged: int


def plan_import(
    pool: ProxyPool, lists: Sequence[ImportResult], state: ProxyState = ProxyState.ACTIVE
) -> ImportPlan:
    """Compare parsed ``lists`` with the pool; a later list wins for a URL listed twice."""
    listed: dict[str, Proxy] = {}
    for result in lists:
        listed.update(result.proxies)
    added, removed, unchanged = _compare(pool, listed, {r.source for r in lists})
    return ImportPlan(
        sources=tuple(r.source for r in lists),
        state=state,
        proxies=tuple(listed.values()),
        added=added,
        removed=removed,
        unchanged=unchanged,
        problems=tuple(p for r in lists for p in r.problems),
        duplicates=sum(r.duplicates for r in lists),
        bad_lines=sum(r.bad_lines for r in lists),
    )


def _compare(
    pool: ProxyPool, listed: Mapping[str, Proxy], names: set[str]
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(added, removed, unchanged) URLs of ``listed`` against the pool now."""
    known = {p.url: p for p in pool.proxies()}
    removed = sorted(
        url for url, p in known.items()
        if p.source in names and url not in listed and p.state is not ProxyState.RETIRED
    )  # fmt: skip
    return (
        tuple(sorted(set(listed) - set(known))),
        tuple(removed),
        tuple(sorted(set(listed) & set(known))),
    )


def apply_import(pool: ProxyPool, plan: ImportPlan) -> ImportOutcome:
    """Write ``plan`` in one transaction: every listed proxy added or refreshed (a retired one
    listed again comes back in ``plan.state``), the unlisted ones retired.

    The plan is made again under :data:`IMPORT_LOCK` (another update may have written since
    ``plan`` was made), and every row it touches is locked in URL order before writing.
    """
    db = pool.database
    with db.transaction():
        db.execute("SELECT pg_advisory_xact_lock(%s)", (IMPORT_LOCK,))
        listed = {p.url: p for p in plan.proxies}
        added, removed, unchanged = _compare(pool, listed, set(plan.sources))
        fresh = replace(plan, added=added, removed=removed, unchanged=unchanged)
        pool.lock_rows([*fresh.unchanged, *fresh.removed])
        new = pool.upsert(fresh.proxies, fresh.state)
        retired = pool.set_state(fresh.removed, ProxyState.RETIRED, _RETIRED_WHY)
    return ImportOutcome(added=new, retired=retired, unchanged=len(fresh.unchanged))
