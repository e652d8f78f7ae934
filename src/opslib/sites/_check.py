"""A verification run as a check result, for the suites: one measurement per site whose
severity is its verdict's, a table of every site, and the red sites' commands as the
remediation."""

from __future__ import annotations

from collections.abc import Sequence

from opslib.adapters import Database
from opslib.config import Settings
from opslib.proxies import ProxyPool
from opslib.results import CheckResult, Measurement, Severity, Table, Threshold
from opslib.sites._model import Outcome, SiteReport, SiteVerdict
from opslib.sites._targets import site_targets
from opslib.sites._verify import sample_proxies, verify_sites

__all__ = ["VERDICT_LIMIT", "site_availability", "sites_that_err"]

VERDICT_LIMIT = Threshold(warn=0.5, crit=1.5)
"""What a site's ``verdict`` measurement (0 up, 1 slow or warning, 2 red) is judged by."""
_VALUE = {Severity.OK: 0.0, Severity.WARNING: 1.0, Severity.CRITICAL: 2.0}


def _measurement(verdict: SiteVerdict) -> Measurement:
    return Measurement(
        "verdict",
        _VALUE.get(verdict.severity),  # None (unknown): UNKNOWN
        VERDICT_LIMIT,
        subject=verdict.domain,
        note=f"{verdict.verdict.label}: {verdict.reason}",
    )


def _row(verdict: SiteVerdict) -> tuple[str, ...]:
    direct = verdict.direct
    shown = "-" if direct is None else direct.detail
    via = [p for p in verdict.probes if p.via is not None]
    fine = sum(p.outcome is Outcome.OK for p in via)
    return (
        verdict.domain,
        verdict.verdict.label,
        shown,
        f"{fine}/{len(via)} ok" if via else "-",
        verdict.action or "-",
    )


def site_availability(report: SiteReport, sop: str = "emergency.high_error_rate") -> CheckResult:
    """The check result of ``report``: UNKNOWN when no site was verified."""
    title = "site availability"
    if not report.verdicts:
        return CheckResult.unknown(sop, title, "no site to verify")
    red = [v for v in report.verdicts if v.action and v.severity is not Severity.OK]
    remediation = "; ".join(f"{v.domain}: {v.action}" for v in red)
    table = Table(("domain", "verdict", "direct", "via proxies", "action"),
                  tuple(_row(v) for v in report.verdicts), title="sites")  # fmt: skip
    return CheckResult(
        sop,
        f"{title} ({len(report.verdicts)} sites, {len(report.proxies)} proxies)",
        tuple(_measurement(v) for v in report.verdicts),
        remediation,
        tables=(table,),
    )


def sites_that_err(
    domains: Sequence[str], db: Database, settings: Settings, sop: str = "emergency.high_error_rate"
) -> CheckResult:
    """The availability of ``domains`` (those whose error rate is over its threshold), each
    verified directly and through ``sites.via_proxies`` pool proxies. With none, nothing is
    fetched: the verification's own requests would add to a rate-limited site's load."""
    if not domains:
        quiet = Measurement("erring_domains", 0, note="no domain over its error threshold")
        return CheckResult(sop, "site availability of the domains that err", (quiet,))
    pool = ProxyPool(db, settings.proxies)
    sample = sample_proxies(pool, settings.sites.via_proxies)
    report = verify_sites(site_targets(db, settings.tables, domains), settings, sample)
    return site_availability(report, sop)
