"""``opslib capacity report``: capacity planning with forecasts (read-only)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from opslib.capacity import (
    CapacityReport,
    capacity_report,
    forecast_chart,
    forecast_table,
    volumes_table,
)
from opslib.cli._context import AppContext, pass_app
from opslib.cli._report_page import html_option, json_option, render_page, write_page
from opslib.cli._review import result_payload
from opslib.config import Settings
from opslib.connect import describe_platform, open_platform, open_prometheus
from opslib.errors import OpsError
from opslib.results import worst

__all__ = ["capacity"]


@click.group()
def capacity() -> None:
    """Capacity planning (runbook Monthly 3)."""


def _replicas(settings: Settings) -> tuple[int | None, str]:
    """Running scraper replicas, or None and why not."""
    try:
        with open_platform(settings) as platform:
            found = platform.containers(settings.scraper_service)
    except OpsError as exc:
        return None, f"scraper replicas unknown: {exc}"
    return sum(c.running for c in found), ""


def _payload(report: CapacityReport) -> dict[str, Any]:
    return {
        "today": report.today.isoformat(),
        "severity": worst(r.severity for r in report.results).name,
        "results": [result_payload(r) for r in report.results],
        "database_bytes": report.database_bytes,
        "tables": [asdict(t) for t in report.tables],
        "volumes": [asdict(v) for v in report.volumes],
        "forecasts": [
            {
                "name": line.name,
                "unit": line.unit,
                "current": line.current,
                "limit": line.limit,
                "crosses_on": line.crosses_on,
                "earliest_on": line.earliest_on,
                "backtest_mape": line.mape,
                "note": line.note,
                "horizons": [asdict(h) for h in line.horizons],
                "history": [[d.isoformat(), v] for d, v in line.history],
            }
            for line in report.lines
        ],
        "scaling": list(report.scaling),
        "backtests": [
            {
                "series": name,
                "mape": b.mape,
                "train_days": b.train_days,
                "holdout_days": b.holdout_days,
            }
            for name, b in report.backtests
        ],
    }


@capacity.command("report")
@json_option
@html_option
@pass_app
def report_cmd(app: AppContext, as_json: bool, html_file: Path | None) -> None:
    """Storage growth (table and database sizes, rows per day), disk free on the database and
    backup volumes, URLs monitored, resources per service and scraper replicas, each forecast
    for capacity.horizons days with a 95 % interval and the date it reaches its limit; the
    backtest's error (MAPE) on the held-out last days. Exit status: the worst check's."""
    app.output.as_json = app.output.as_json or as_json
    settings = app.settings
    replicas, why = _replicas(settings)
    with open_prometheus(settings) as prometheus:
        report = capacity_report(app.database, settings, prometheus=prometheus, replicas=replicas)
    severity = worst(r.severity for r in report.results)
    summary = [*report.scaling, *([why] if why else [])]
    summary += [f"backtest of {name}: MAPE {b.mape:.1%} over the last {b.holdout_days} days"
                for name, b in report.backtests]  # fmt: skip
    if html_file is not None:
        shown = {chart.title for result in report.results for chart in result.charts}
        more = [forecast_chart(line) for line in report.lines if line.history]
        page = render_page(
            "opslib capacity planning", describe_platform(settings), report.results,
            summary=summary, tables=(volumes_table(report), forecast_table(report)),
            charts=[chart for chart in more if chart.title not in shown],
        )  # fmt: skip
        write_page(html_file, page)
    table = forecast_table(report)
    lines = [r.message() for r in report.results]
    lines.append("forecasts:")
    lines += ["  " + " | ".join(row) for row in table.rows]
    lines += summary
    if html_file is not None:
        lines.append(f"HTML report: {html_file}")
    app.output.data(_payload(report), "\n".join(lines))
    click.get_current_context().exit(int(severity))
