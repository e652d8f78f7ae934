"""What ``opslib doctor`` finds: probes of the platform's pieces, and each check's readiness."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["CHECKS", "CheckNeeds", "DoctorReport", "Level", "Probe", "Readiness", "readiness"]

Level = Literal["full", "partial", "none"]
"""How much of a check can run: all of it, without an optional part, or not at all."""


@dataclass(frozen=True)
class Probe:
    """One piece of the platform a check reads, and whether doctor found it."""

    key: str  # e.g. "prometheus.errors": what the readiness table refers to
    dependency: str  # postgresql, prometheus, metrics, docker, backups, proxies
    item: str  # what was looked for, e.g. "metric scraper_errors_total"
    found: bool
    detail: str  # one line: what was seen, or why not
    fix: str = ""  # one line: how to provide it when it is missing
    unreachable: bool = False  # not found because the dependency did not answer


@dataclass(frozen=True)
class CheckNeeds:
    """What one SOP check reads: every group in ``requires`` needs one of its probe keys."""

    sop: str
    check: str
    requires: tuple[tuple[str, ...], ...]
    optional: tuple[str, ...] = ()


@dataclass(frozen=True)
class Readiness:
    """Whether a check can run fully, partly (what is missing) or not at all, with the fix."""

    sop: str
    check: str
    level: Level
    missing: tuple[str, ...]
    fixes: tuple[str, ...]
    unreachable: bool


# The runbook's checks and what each reads (docs/platform.md has the prose).
CHECKS: tuple[CheckNeeds, ...] = (
    CheckNeeds("daily.health", "services running", (("docker.project",),)),
    CheckNeeds("daily.health", "restarts not climbing", (("docker.project",),)),
    CheckNeeds("daily.health", "CPU and memory", (("docker.project",),)),
    CheckNeeds("daily.health", "error rate", (("prometheus.errors",),), ("prometheus.requests",)),
    CheckNeeds("daily.health", "maintenance mode not stuck", (("opslib.schema",),)),
    CheckNeeds("daily.performance", "queue size", (("metrics.queue",),), ("prometheus.queue",)),
    CheckNeeds(
        "daily.performance", "processing rate", (("prometheus.processed", "metrics.processed"),)
    ),
    CheckNeeds(
        "daily.performance",
        "proxy performance",
        (("postgresql.scrape_logs_proxy", "opslib.pool_usage"),),
    ),
    CheckNeeds(
        "daily.data_quality",
        "hourly extractions, coverage, confidence, freshness",
        (("postgresql.price_history",), ("postgresql.monitored_urls",)),
    ),
    CheckNeeds("weekly.proxy_pool", "proxy pool", (("opslib.schema",),), ("proxies.judge",)),
    CheckNeeds(
        "monthly.backups",
        "backups",
        (("opslib.schema",), ("backups.directory",), ("backups.pg_dump",)),
    ),
)
"""Every SOP check doctor judges, with what it requires and what it uses when present."""


def readiness(needs: CheckNeeds, probes: Sequence[Probe]) -> Readiness:
    """Judge one check against what the probes found."""
    by_key = {p.key: p for p in probes}
    missing: list[str] = []
    fixes: list[str] = []
    unreachable = False
    level: Level = "full"
    for group in needs.requires:
        found = [by_key[k] for k in group if k in by_key]
        if any(p.found for p in found):
            continue
        level = "none"
        missing.append(" or ".join(p.item for p in found) or " or ".join(group))
        fixes += [p.fix for p in found[:1] if p.fix]
        unreachable = unreachable or any(p.unreachable for p in found)
    for key in needs.optional:
        probe = by_key.get(key)
        if probe is not None and not probe.found:
            if level == "full":
                level = "partial"
            missing.append(f"{probe.item} (optional)")
            if probe.fix:
                fixes.append(probe.fix)
    return Readiness(needs.sop, needs.check, level, tuple(missing), tuple(fixes), unreachable)


@dataclass(frozen=True)
class DoctorReport:
    """Every probe and every check's readiness."""

    probes: tuple[Probe, ...]
    checks: tuple[Readiness, ...]

    @property
    def exit_code(self) -> int:
        """0 every check can run fully, 1 some only partly, 2 some not at all, 3 when that is
        because a dependency did not answer."""
        if any(c.level == "none" and c.unreachable for c in self.checks):
            return 3
        if any(c.level == "none" for c in self.checks):
            return 2
        return 1 if any(c.level == "partial" for c in self.checks) else 0
