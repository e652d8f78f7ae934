"""``opslib sites verify``: is each shop up, down, slow, blocking us, rate-limiting us, or are
our proxies failing? Read-only."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import click

from opslib.cli._context import AppContext, pass_app
from opslib.proxies import ProxyPool
from opslib.sites import SiteReport, SiteVerdict, sample_proxies, site_targets, verify_sites

__all__ = ["sites"]


@click.group()
def sites() -> None:
    """Site availability (high-error-rate emergency)."""


@sites.command("verify")
@click.argument("domains", nargs=-1)
@click.option("--via-proxies", type=click.IntRange(0, 100), default=None,
              help="Pool proxies to fetch through (default: sites.via_proxies).")  # fmt: skip
@click.option("--direct-only", is_flag=True, help="No proxies: direct requests only.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
@pass_app
def verify_cmd(
    app: AppContext, domains: tuple[str, ...], via_proxies: int | None, direct_only: bool,
    as_json: bool,
) -> None:  # fmt: skip
    """Verify DOMAIN... (a domain or a URL; default: every domain of monitored_urls): name,
    connection, TLS, HTTP status and latency and the page's content, directly and through a
    sample of pool proxies. Exit 0 all up, 1 slow or warning, 2 down, blocking, rate-limiting
    or proxies failing, 3 could not tell."""
    app.output.as_json = app.output.as_json or as_json
    settings = app.settings
    count = 0 if direct_only else settings.sites.via_proxies if via_proxies is None else via_proxies
    every_url = bool(domains) and all("://" in d for d in domains)
    wants_db = count > 0 or not every_url
    # Domains on the command line need no database: without one they are fetched at /.
    db = app.database if not domains or (wants_db and settings.database_dsn) else None
    targets = site_targets(db, settings.tables, domains)
    proxies = sample_proxies(ProxyPool(db, settings.proxies), count) if db and count else []
    report = verify_sites(targets, settings, proxies)
    if count and db is None:
        app.output.info("no database configured: no pool proxies, verified directly only")
    elif count and not proxies:
        app.output.info("no active proxy in the pool: verified directly only")
    _show(app, report)
    click.get_current_context().exit(int(report.severity))


def _probe_cell(verdict: SiteVerdict) -> str:
    direct = verdict.direct
    if direct is None:
        return "-"
    if direct.status is not None:
        took = "" if direct.latency_ms is None else f" {direct.latency_ms:.0f} ms"
        return f"{direct.status}{took}"
    return f"{direct.stage} failed"


def _via_cell(verdict: SiteVerdict) -> str:
    via = [p for p in verdict.probes if p.via is not None]
    if not via:
        return "-"
    return f"{sum(p.outcome.value == 'ok' for p in via)}/{len(via)} ok"


def _payload(report: SiteReport) -> dict[str, Any]:
    return {
        "severity": report.severity.name,
        "elapsed_s": report.elapsed_s,
        "proxies": list(report.proxies),
        "failing_proxies": list(report.failing_proxies),
        "sites": [
            {
                **{k: v for k, v in asdict(v).items() if k != "probes"},
                "verdict": v.verdict.value,
                "label": v.verdict.label,
                "severity": v.severity.name,
                "evidence": list(v.evidence),
                "probes": [{**asdict(p), "outcome": p.outcome.value} for p in v.probes],
            }
            for v in report.verdicts
        ],
    }


def _show(app: AppContext, report: SiteReport) -> None:
    rows = []
    for v in report.verdicts:
        days = v.direct.cert_days_left if v.direct is not None else None
        rows.append((
            v.domain, v.verdict.label, _probe_cell(v), _via_cell(v),
            "-" if days is None else f"{days:.0f}", v.action or "-",
        ))  # fmt: skip
    app.output.table(
        ("domain", "verdict", "direct", "via proxies", "cert days", "action"),
        rows,
        payload=_payload(report),
    )
    if app.output.as_json:
        return
    for v in report.verdicts:
        if v.severity.name != "OK" or v.notes:
            app.output.info(f"{v.domain}: {v.verdict.label}: {v.reason}")
            for line in (*v.notes, *(p.describe() for p in v.probes)):
                app.output.info(f"  {line}")
    if report.failing_proxies:
        app.output.info(f"proxies unusable for every site: {', '.join(report.failing_proxies)}")
    app.output.info(f"{len(report.verdicts)} site(s) verified in {report.elapsed_s:.1f} s")
