"""``opslib sites verify``: is each shop up, down, slow, blocking us, rate-limiting us, or are
our proxies failing? Read-only. ``opslib sites changes``: has a shop changed its layout?"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import click

from opslib.audit import current_actor
from opslib.cli._context import AppContext, pass_app
from opslib.proxies import ProxyPool
from opslib.sites import (
    ChangeReport,
    SiteReport,
    SiteVerdict,
    detect_site_changes,
    sample_proxies,
    site_changes,
    site_targets,
    verify_sites,
)

__all__ = ["sites"]


@click.group()
def sites() -> None:
    """Site availability (high-error-rate emergency) and layout changes (data quality)."""


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


@sites.command("changes")
@click.argument("domains", nargs=-1)
@click.option("--via-proxies", type=click.IntRange(0, 100), default=0,
              help="Fetch through N pool proxies in turn (default: directly).")  # fmt: skip
@click.option("--save-baseline", is_flag=True,
              help="Make the pages read now the baseline (after a deliberate change).")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Compare only; write no baseline.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
@pass_app
def changes_cmd(
    app: AppContext, domains: tuple[str, ...], *, via_proxies: int, save_baseline: bool,
    dry_run: bool, as_json: bool,
) -> None:  # fmt: skip
    """Has DOMAIN... (default: every monitored domain) changed its page layout? A few pages
    of each are compared by their skeleton (prices, text and ads left out) with the stored
    baseline, and the price is looked for. Pages seen for the first time become the baseline.
    Exit 0 unchanged, 1 the price lost on pages, 2 a layout changed."""
    app.output.as_json = app.output.as_json or as_json
    db = app.database
    proxies = (
        sample_proxies(ProxyPool(db, app.settings.proxies), via_proxies) if via_proxies else []
    )
    if via_proxies and not proxies:
        app.output.info("no active proxy in the pool: fetched directly")
    args = {"domains": list(domains), "via_proxies": via_proxies, "save_baseline": save_baseline}
    actor = app.settings.actor or current_actor()
    if save_baseline:
        with app.audit.action("sites.baseline", args, dry_run=dry_run) as out:
            report = detect_site_changes(
                db, app.settings, domains, proxies=proxies, save_baseline=True,
                dry_run=dry_run, actor=actor,
            )  # fmt: skip
            out.detail = f"{report.saved} page baseline(s) saved for {len(report.domains)} domains"
    else:
        report = detect_site_changes(
            db, app.settings, domains, proxies=proxies, dry_run=dry_run, actor=actor
        )
        if report.saved:
            detail = f"{report.saved} new page baseline(s)"
            first = {**args, "first_seen": True}
            app.audit.record("sites.baseline", first, dry_run=False, outcome="ok", detail=detail)
    _show_changes(app, report, save_baseline=save_baseline, dry_run=dry_run)
    result = site_changes(db, app.settings, report)
    click.get_current_context().exit(min(int(result.severity), 3))


def _changes_payload(report: ChangeReport) -> dict[str, Any]:
    return {
        "elapsed_s": report.elapsed_s,
        "proxies": len(report.proxies),
        "saved": report.saved,
        "changed": list(report.changed),
        "domains": [
            {
                "domain": d.domain,
                "changed": d.changed,
                "baseline_recorded": d.recorded,
                "distance": d.distance,
                "limit": d.limit,
                "price_found": d.price_found[0],
                "pages_read": d.price_found[1],
                "price_lost": d.price_lost,
                "confidence": d.confidence,
                "baseline_confidence": d.baseline_confidence,
                "pages": [asdict(p) for p in d.pages],
            }
            for d in report.domains
        ],
    }


def _show_changes(
    app: AppContext, report: ChangeReport, *, save_baseline: bool, dry_run: bool
) -> None:
    rows = []
    for d in report.domains:
        state = (
            "saved"
            if save_baseline
            else "changed"
            if d.changed
            else "new"
            if d.recorded
            else "same"
        )
        found, read = d.price_found
        rows.append((
            d.domain, state, "-" if d.distance is None else f"{d.distance:.2f}", f"{found}/{read}",
            "-" if d.confidence is None else f"{d.confidence:.2f}",
            "-" if d.baseline_confidence is None else f"{d.baseline_confidence:.2f}",
            f"opslib patterns generate {d.domain}" if d.changed else "-",
        ))  # fmt: skip
    app.output.table(
        ("domain", "layout", "distance", "price found", "confidence", "baseline conf", "action"),
        rows,
        payload=_changes_payload(report),
    )
    if app.output.as_json:
        return
    for d in report.domains:
        if d.changed or d.price_lost or any(p.error for p in d.pages):
            app.output.info(f"{d.domain}: {d.describe()}")
    how = f"through {len(report.proxies)} proxies" if report.proxies else "directly"
    wrote = "would save" if dry_run else "saved"
    pages = sum(len(d.pages) for d in report.domains)
    app.output.info(
        f"{len(report.domains)} domain(s), {pages} page(s) read {how} in {report.elapsed_s:.1f} s;"
        f" {report.saved if not dry_run else 'no'} baseline(s) {wrote}"
    )
