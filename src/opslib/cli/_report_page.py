"""A self-contained HTML page of check results (the review's and capacity's ``--html``): the
results, their tables and the report's inline SVG charts (no script, font or image fetched)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path

import click

from opslib._files import write_atomic
from opslib.errors import ConfigError, InputError
from opslib.redact import redact
from opslib.results import Chart, CheckResult, Table, worst

__all__ = ["html_option", "json_option", "render_page", "write_page"]

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Machine-readable output on stdout."
)
html_option = click.option(
    "--html", "html_file", type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a self-contained HTML page with charts to this file.",
)  # fmt: skip

_STYLE = """
body{font-family:sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
.sev{display:inline-block;min-width:5.5em;padding:1px 6px;border-radius:3px;color:#fff;
  font-weight:bold;text-align:center}
.sev-OK{background:#2e7d32}.sev-WARNING{background:#e6a100;color:#000}
.sev-CRITICAL{background:#c62828}.sev-UNKNOWN{background:#6a1b9a}
table{border-collapse:collapse;margin:6px 0 14px 0;font-size:12px}
caption{text-align:left;font-weight:bold;padding:2px 0}
th,td{border:1px solid #ccc;padding:2px 8px;text-align:left;vertical-align:top}
th{background:#f0f0f0}pre{white-space:pre-wrap;font-size:12px;background:#f7f7f7;padding:6px}
"""


def _text(value: object) -> str:
    return escape(redact(str(value)), quote=True)


def _table(table: Table) -> str:
    caption = f"<caption>{_text(table.title)}</caption>" if table.title else ""
    head = "".join(f"<th>{_text(c)}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_text(v)}</td>" for v in row) + "</tr>" for row in table.rows
    )
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _badge(name: str) -> str:
    return f'<span class="sev sev-{_text(name)}">{_text(name)}</span>'


def render_page(
    title: str,
    platform: str,
    results: Sequence[CheckResult],
    *,
    summary: Sequence[str] = (),
    tables: Sequence[Table] = (),
    charts: Sequence[Chart] = (),
) -> str:
    """The page: a heading, ``summary`` lines, the extra ``tables``, each result (severity,
    message, tables, charts), then the extra ``charts``."""
    try:
        # The check report's renderer: the same charts as `pytest --html`.
        from opslib.pytest_plugin._svg import chart_svg
    except ImportError as exc:  # pytest is not installed: opslib[cli] without [checks]
        raise ConfigError(
            f"--html needs the report's chart renderer: pip install 'opslib[checks]' ({exc})"
        ) from exc
    overall = worst(r.severity for r in results).name
    parts = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        f"<title>{_text(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{_text(title)} {_badge(overall)}</h1>",
        f"<p>Platform: {_text(platform)}<br>Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC</p>",
    ]
    if summary:
        parts.append("<ul>" + "".join(f"<li>{_text(s)}</li>" for s in summary) + "</ul>")
    parts += [_table(t) for t in tables]
    for result in results:
        parts.append(f"<h2>{_badge(result.severity.name)} {_text(result.title)}</h2>")
        parts.append(f"<pre>{_text(result.message())}</pre>")
        parts += [_table(t) for t in result.tables]
        parts += [f"<div>{chart_svg(chart)}</div>" for chart in result.charts]
    if charts:
        parts.append("<h2>More forecasts</h2>")
        parts += [f"<div>{chart_svg(chart)}</div>" for chart in charts]
    parts.append("</body></html>\n")
    return "".join(parts)


def write_page(path: Path, page: str) -> None:
    """Write ``page`` to ``path`` atomically (temporary file, fsync, rename)."""
    folder = path.parent if str(path.parent) else Path()
    if not folder.is_dir():
        raise InputError(f"cannot write {path}: directory {folder} does not exist")
    try:
        write_atomic(path, page, mkdir=False)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from exc
