"""``opslib quality``: extraction quality per shop domain (the Data Quality emergency)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import click

from opslib.cli._context import AppContext, pass_app
from opslib.quality import DomainQuality, PlatformSchema, domain_quality, judge_domains
from opslib.results import CheckResult

__all__ = ["quality"]


@click.group()
@pass_app
def quality(app: AppContext) -> None:
    """Extraction quality (runbook Data Quality Issues)."""


@quality.command("by-domain")
@click.option(
    "--hours",
    type=click.IntRange(1, 24 * 31),
    default=1,
    show_default=True,
    help="The window: the last N hours.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
@pass_app
def by_domain_cmd(app: AppContext, hours: int, as_json: bool) -> None:
    """Per domain: rows, confidence, missing and implausible prices, overdue URLs, drift against
    the last days. Exit 0 all OK, 1 a warning, 2 critical, 3 not measured."""
    app.output.as_json = app.output.as_json or as_json
    minutes = hours * 60
    db, settings = app.database, app.settings
    schema = PlatformSchema.read(db, settings.tables)  # absent tables: one line, exit 3
    found = domain_quality(db, settings, minutes, schema)
    confidence = schema.has("price_history", "extraction_confidence")
    result = judge_domains(found, settings, minutes, confidence=confidence)
    if app.output.as_json:
        app.output.data(_payload(result, found, hours))
    else:
        for table in result.tables:
            app.output.table(table.columns, table.rows)
        app.output.info(result.message())
    click.get_current_context().exit(int(result.severity))


def _payload(result: CheckResult, figures: list[DomainQuality], hours: int) -> dict[str, Any]:
    by_domain: dict[str, list[dict[str, Any]]] = {}
    for m in result.measurements:
        by_domain.setdefault(m.subject, []).append(
            {
                "name": m.name,
                "value": m.value,
                "severity": m.severity.name,
                "limit": m.threshold.describe() if m.threshold else None,
                "note": m.note,
            }
        )
    return {
        "hours": hours,
        "severity": result.severity.name,
        "message": result.message(),
        "error": result.error or None,
        "domains": [
            {
                **asdict(q),
                "missing": q.missing,
                "missing_rate": q.missing_rate,
                "implausible_rate": q.implausible_rate,
                "overdue_rate": q.overdue_rate,
                "measurements": by_domain.get(q.domain, []),
            }
            for q in figures
        ],
    }
