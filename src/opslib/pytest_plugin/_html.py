"""pytest-html 4 customisation: SOP, severity, measured vs threshold and remediation columns,
a count line, and per-check extras (measurements, tables, inline SVG charts).

pytest-html 4 passes header and row cells as HTML strings, and renders rows client-side from
a JSON blob; so every string here is escaped with :func:`html.escape` after redaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

import pytest

from opslib.pytest_plugin._state import CheckRecord, RunState
from opslib.pytest_plugin._svg import chart_svg
from opslib.results import CheckResult, Measurement, Severity, Table

__all__ = ["HtmlReport", "extras_for"]

_SHOWN = 4
_STYLE = """<style>
.opslib-sev{display:inline-block;min-width:5.5em;padding:1px 6px;border-radius:3px;
  color:#fff;font-weight:bold;text-align:center}
.opslib-sev-ok{background:#2e7d32}.opslib-sev-warning{background:#e6a100;color:#000}
.opslib-sev-critical{background:#c62828}.opslib-sev-unknown{background:#6a1b9a}
.opslib-sev-skipped{background:#9e9e9e}
.opslib-table{border-collapse:collapse;margin:6px 0 12px 0;font-size:12px}
.opslib-table caption{text-align:left;font-weight:bold;padding:2px 0}
.opslib-table th,.opslib-table td{border:1px solid #ccc;padding:2px 8px;text-align:left}
.opslib-table th{background:#f0f0f0}
.opslib-measured div,.opslib-remediation{font-size:12px}
</style>"""


class HtmlReport:
    """pytest-html hooks for one run; registered only when pytest-html is active."""

    def __init__(self, state: RunState) -> None:
        self._state = state
        self._report: Any = None

    def pytest_html_report_title(self, report: Any) -> None:
        # Collection has not run yet: keep the report and name it once the checks are known.
        self._report = report

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self) -> None:
        if self._report is not None and self._state.suites:
            self._report.title = f"opslib checks: {', '.join(self._state.suites)}"

    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        at = _index(cells, 'data-column-type="result"') + 1
        cells[at:at] = [
            '<th class="sortable" data-column-type="severity">Severity</th>',
            '<th class="sortable" data-column-type="sop">SOP</th>',
        ]
        at = _index(cells, 'data-column-type="testId"') + 1
        cells[at:at] = ["<th>Measured vs threshold</th>", "<th>Remediation</th>"]

    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        record = self._state.records.get(report.nodeid)
        at = _index(cells, 'class="col-result"') + 1
        cells[at:at] = [
            f'<td class="col-severity">{_severity_badge(record)}</td>',
            f'<td class="col-sop">{self._text(record.sop if record else "")}</td>',
        ]
        at = _index(cells, 'class="col-testId"') + 1
        cells[at:at] = [
            f'<td class="col-measured opslib-measured">{self._measured(record)}</td>',
            f'<td class="col-remediation opslib-remediation">{self._remediation(record)}</td>',
        ]

    def pytest_html_results_table_html(self, report: pytest.TestReport, data: list[str]) -> None:
        if report.nodeid in self._state.records:
            data[:] = [self._state.clean(entry) for entry in data]

    def pytest_html_results_summary(
        self, prefix: list[str], summary: list[str], postfix: list[str]
    ) -> None:
        if not self._state.ops_items:
            return
        if self._state.platform:
            prefix.append(
                f'<p class="opslib-platform"><b>Platform checked:</b> '
                f"{escape(self._state.platform)}</p>"
            )
        counts = self._state.counts()
        badges = ", ".join(
            f'<span class="opslib-sev opslib-sev-{name.lower()}">{n} {name}</span>'
            for name, n in counts.items()
        )
        fail_on = self._state.fail_on.name
        prefix.append(
            f'{_STYLE}<p class="opslib-counts"><strong>opslib:</strong> {badges}'
            f" (the run fails on {escape(fail_on)} and worse)</p>"
        )

    def _text(self, value: str) -> str:
        return escape(self._state.clean(value), quote=True)

    def _measured(self, record: CheckRecord | None) -> str:
        if record is None or record.severity is None:
            return ""
        result = record.result
        if result is None or result.error or not result.measurements:
            first = record.message.splitlines()[0] if record.message else ""
            return f"<div>{self._text(first.removeprefix('UNKNOWN: '))}</div>"
        shown: Sequence[Measurement] = result.problems or result.measurements
        lines = [f"<div>{self._text(m.describe())}</div>" for m in shown[:_SHOWN]]
        if len(shown) > _SHOWN:
            lines.append(f"<div>... and {len(shown) - _SHOWN} more</div>")
        return "".join(lines)

    def _remediation(self, record: CheckRecord | None) -> str:
        if record is None or record.result is None or record.severity in (None, Severity.OK):
            return ""
        return self._text(record.result.remediation)


def extras_for(result: CheckResult, state: RunState) -> list[dict[str, Any]]:
    """pytest-html extras for one result: its measurements, its tables and its charts."""
    from pytest_html import extras

    found: list[dict[str, Any]] = []
    if result.measurements:
        found.append(extras.html(_measurements_table(result, state)))
    found += [extras.html(_table(table, state)) for table in result.tables]
    found += [
        extras.html(f'<div class="opslib-chart-box">{chart_svg(chart)}</div>')
        for chart in result.charts
    ]
    return found


def _measurements_table(result: CheckResult, state: RunState) -> str:
    rows = tuple(
        (
            m.severity.name,
            m.name,
            m.subject,
            "not measured" if m.value is None else f"{m.value:g}",
            m.unit,
            m.threshold.describe() if m.threshold else "",
            m.note,
        )
        for m in result.measurements
    )
    table = Table(
        ("severity", "measurement", "subject", "value", "unit", "threshold", "note"),
        rows,
        title="Measurements",
    )
    return _table(table, state)


def _table(table: Table, state: RunState) -> str:
    def cell(tag: str, value: str) -> str:
        return f"<{tag}>{escape(state.clean(str(value)), quote=True)}</{tag}>"

    caption = f"<caption>{escape(state.clean(table.title))}</caption>" if table.title else ""
    head = "".join(cell("th", c) for c in table.columns)
    body = "".join("<tr>" + "".join(cell("td", v) for v in row) + "</tr>" for row in table.rows)
    return (
        f'<table class="opslib-table">{caption}<thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def _severity_badge(record: CheckRecord | None) -> str:
    if record is None:
        return ""
    if record.severity is None:
        return '<span data-rank="9" class="opslib-sev opslib-sev-skipped">SKIPPED</span>'
    name = record.severity.name
    # data-rank first: pytest-html sorts the column by the cell's markup as a string.
    return (
        f'<span data-rank="{record.severity.rank}" '
        f'class="opslib-sev opslib-sev-{name.lower()}">{name}</span>'
    )


def _index(cells: list[str], marker: str) -> int:
    """Position of the cell containing ``marker`` (the last cell when absent)."""
    for n, cell in enumerate(cells):
        if marker in cell:
            return n
    return len(cells) - 1
