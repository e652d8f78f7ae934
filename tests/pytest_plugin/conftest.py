"""Helpers for running throwaway check files through the plugin with pytester."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpcore  # noqa: F401 - see below
import lxml.etree
import lxml.html
import pytest

# httpcore is imported here, before any pytester run: httpx imports it lazily and caches its
# exception classes, and in-process pytester runs drop modules first imported inside them, so a
# second run would re-import httpcore with new classes that httpx no longer recognises.

# Checks build CheckResults directly: that is exactly what the plugin consumes.
RESULTS = """
import pytest
from opslib.results import Chart, CheckResult, Measurement, Series, Table, Threshold

CPU = Threshold(warn=80, crit=95, unit="%")


def cpu(value, sop="daily.health", note=""):
    return CheckResult(
        sop=sop,
        title="CPU usage",
        measurements=(
            Measurement("cpu_percent", value, CPU, subject="scraper-1", note=note),
            Measurement("cpu_percent", 12.0, CPU, subject="scraper-2"),
        ),
        remediation="scale the scraper service (runbook: Daily 1)",
        tables=(
            Table(("hour", "rows"), (("13:00", "120"), ("14:00", "<b>0</b>")), title="hourly"),
        ),
        charts=(
            Chart(
                "coverage per hour",
                (
                    Series(
                        "coverage",
                        (("13:00", 0.99), ("14:00", None), ("15:00", 0.97), ("16:00", 0.9)),
                    ),
                ),
                limit=0.95,
            ),
        ),
    )
"""


@pytest.fixture
def checks(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """pytester with no OPSLIB_* settings leaking in from the environment running the tests."""
    for name in list(os.environ):
        if name.startswith("OPSLIB_"):
            monkeypatch.delenv(name)
    return pytester


@dataclass(frozen=True)
class Row:
    """One row of the pytest-html results table, cells by column class."""

    test_id: str
    cells: dict[str, lxml.html.HtmlElement]
    extras: list[str]
    log: str

    def text(self, column: str) -> str:
        return str(self.cells[column].text_content()).strip()


@dataclass(frozen=True)
class HtmlReport:
    """A pytest-html 4 report: the static page, plus the rows it renders from its JSON blob."""

    raw: str
    doc: lxml.html.HtmlElement
    rows: dict[str, Row]

    @property
    def header(self) -> list[str]:
        return [str(th.text_content()).strip() for th in find_all(self.doc, "//thead//th")]


SVG = {"s": "http://www.w3.org/2000/svg"}


def find_all(node: Any, path: str, namespaces: dict[str, str] | None = None) -> list[Any]:
    """The elements ``path`` selects (lxml's xpath result, narrowed to elements)."""
    found = node.xpath(path, namespaces=namespaces or {})
    assert isinstance(found, list)
    return [e for e in found if isinstance(e, lxml.etree._Element)]


def read_html(path: Path) -> HtmlReport:
    raw = path.read_text(encoding="utf-8")
    doc = lxml.html.fromstring(raw)
    (container,) = find_all(doc, "//div[@id='data-container']")
    blob: dict[str, Any] = json.loads(str(container.get("data-jsonblob")))
    rows = {}
    for entries in blob["tests"].values():
        for entry in entries:
            cells = {}
            for html in entry["resultsTableRow"]:
                td = lxml.html.fragment_fromstring(html, create_parent="tr")[0]
                cells[str(td.get("class")).split()[0].removeprefix("col-")] = td
            row = Row(
                test_id=cells["testId"].text_content(),
                cells=cells,
                extras=[e["content"] for e in entry["extras"] if e["format_type"] == "html"],
                log=entry["log"],
            )
            rows[row.test_id] = row
    return HtmlReport(raw, doc, rows)
