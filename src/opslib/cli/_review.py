"""``opslib review weekly``: the weekly performance review (read-only)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from opslib.cli._context import AppContext, pass_app
from opslib.cli._report_page import html_option, json_option, render_page, write_page
from opslib.connect import describe_platform, open_prometheus
from opslib.results import CheckResult, worst
from opslib.review import ReviewReport, areas_table, performance_review

__all__ = ["review"]


@click.group()
def review() -> None:
    """Performance review (runbook Weekly 3)."""


def result_payload(result: CheckResult) -> dict[str, Any]:
    """A check result as JSON: severity, title, error, measurements."""
    return {
        "sop": result.sop,
        "title": result.title,
        "severity": result.severity.name,
        "error": result.error,
        "remediation": result.remediation,
        "measurements": [
            {
                "name": m.name,
                "subject": m.subject,
                "value": m.value,
                "unit": m.unit,
                "severity": m.severity.name,
                "threshold": m.threshold.describe() if m.threshold else None,
                "note": m.note,
            }
            for m in result.measurements
        ],
    }


def _payload(report: ReviewReport) -> dict[str, Any]:
    return {
        "end": report.end.isoformat(),
        "severity": worst(r.severity for r in report.results).name,
        "results": [result_payload(r) for r in report.results],
        "domains": [
            {
                "domain": d.domain,
                "this_week": None if d.this_week is None else asdict(d.this_week),
                "previous": None if d.previous is None else asdict(d.previous),
                "latency_rise": d.latency_rise,
                "success_drop_pp": d.success_drop,
            }
            for d in report.domains
        ],
        "daily": [{**asdict(d), "day": d.day.isoformat()} for d in report.daily],
        "prometheus": [{**asdict(t), "change": t.change} for t in report.trends],
        "areas_for_optimisation": [asdict(a) | {"severity": a.severity.name} for a in report.areas],
        "notes": list(report.notes),
    }


@review.command("weekly")
@json_option
@html_option
@pass_app
def weekly_cmd(app: AppContext, as_json: bool, html_file: Path | None) -> None:
    """The last 7 days against the 7 before: response time p50/p95 and success rate by domain,
    requests and prices per day, queue, throughput and CPU/memory per service (Prometheus),
    and the areas for optimisation, worst first. Exit status: the worst check's."""
    app.output.as_json = app.output.as_json or as_json
    settings = app.settings
    with open_prometheus(settings) as prometheus:
        report = performance_review(app.database, settings, prometheus=prometheus)
    severity = worst(r.severity for r in report.results)
    areas = areas_table(report)
    if html_file is not None:
        page = render_page(
            "opslib weekly performance review", describe_platform(settings), report.results,
            summary=report.notes, tables=(areas,),
        )  # fmt: skip
        write_page(html_file, page)
    lines = [r.message() for r in report.results]
    lines.append("areas for optimisation, worst first:")
    lines += [f"  {row[0]}. {row[1]} [{row[2]}]: {row[3]}" for row in areas.rows] or ["  none"]
    lines += [f"note: {n}" for n in report.notes]
    if html_file is not None:
        lines.append(f"HTML report: {html_file}")
    app.output.data(_payload(report), "\n".join(lines))
    click.get_current_context().exit(int(severity))
