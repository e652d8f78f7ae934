"""The pytest-html report: opslib columns, severity cells, extras with tables and SVG charts."""

from __future__ import annotations

import lxml.etree
import lxml.html
import pytest

from tests.pytest_plugin.conftest import RESULTS, SVG, find_all, read_html

pytest_plugins = ["pytester"]

SECRET_DSN = "postgresql://u:s3cretpw@127.0.0.1:1/x"

THREE_CHECKS = (
    RESULTS
    + f'''

@pytest.mark.sop("daily.health")
def test_ok(ops_verdict):
    """CPU of every scraper under threshold."""
    ops_verdict(cpu(10, note="checked via {SECRET_DSN}"))


@pytest.mark.sop("daily.health")
def test_warning(ops_verdict):
    ops_verdict(cpu(85))


@pytest.mark.sop("daily.performance")
def test_critical(ops_verdict):
    ops_verdict(cpu(99, sop="daily.performance"))


def test_plain():
    pass
'''
)

COLUMNS = [
    "Result",
    "Severity",
    "SOP",
    "Test",
    "Measured vs threshold",
    "Remediation",
    "Duration",
    "Links",
]


@pytest.fixture
def report(checks: pytest.Pytester) -> tuple[pytest.RunResult, pytest.Pytester]:
    checks.makepyfile(test_daily=THREE_CHECKS)
    result = checks.runpytest("--html=out/daily.html", "--self-contained-html")
    return result, checks


def test_columns_and_severity_cells(report: tuple[pytest.RunResult, pytest.Pytester]) -> None:
    result, checks = report
    assert result.ret == 1
    html = read_html(checks.path / "out" / "daily.html")
    assert html.header == COLUMNS
    rows = html.rows
    assert {
        name: rows[f"test_daily.py::{name}"].text("severity")
        for name in ("test_ok", "test_warning", "test_critical", "test_plain")
    } == {
        "test_ok": "OK",
        "test_warning": "WARNING",
        "test_critical": "CRITICAL",
        "test_plain": "",
    }
    warning = rows["test_daily.py::test_warning"]
    assert warning.text("result") == "Passed"
    assert "opslib-sev-warning" in warning.cells["severity"][0].get("class")
    assert warning.text("sop") == "daily.health"
    assert warning.text("measured") == "cpu_percent[scraper-1] = 85 % (warn > 80 %, crit > 95 %)"
    assert warning.text("remediation") == "scale the scraper service (runbook: Daily 1)"
    ok = rows["test_daily.py::test_ok"]
    assert ok.text("remediation") == ""
    plain = rows["test_daily.py::test_plain"]
    assert (plain.text("sop"), plain.text("measured"), plain.text("remediation")) == ("", "", "")


def test_title_and_count_summary(report: tuple[pytest.RunResult, pytest.Pytester]) -> None:
    _, checks = report
    html = read_html(checks.path / "out" / "daily.html")
    assert html.doc.findtext(".//title") == "opslib checks: daily"
    (counts,) = find_all(html.doc, "//p[@class='opslib-counts']")
    assert " ".join(counts.text_content().split()) == (
        "opslib: 1 OK, 1 WARNING, 1 CRITICAL, 0 UNKNOWN (the run fails on CRITICAL and worse)"
    )


def test_extras_hold_tables_and_an_svg_chart(
    report: tuple[pytest.RunResult, pytest.Pytester],
) -> None:
    _, checks = report
    html = read_html(checks.path / "out" / "daily.html")
    extras = html.rows["test_daily.py::test_critical"].extras
    fragments = [lxml.html.fragment_fromstring(extra, create_parent="div") for extra in extras]
    tables = [t for f in fragments for t in f.iter("table")]
    captions = [t.findtext("caption") for t in tables]
    assert captions == ["Measurements", "hourly"]
    hourly = tables[1]
    assert [td.text for td in hourly.iter("td")] == ["13:00", "120", "14:00", "<b>0</b>"]
    (svg_text,) = [e for e in extras if "<svg" in e]
    svg = lxml.etree.fromstring(
        svg_text.removeprefix('<div class="opslib-chart-box">').removesuffix("</div>")
    )
    polylines = find_all(svg, "//s:polyline", SVG)
    # 13:00 stands alone before the gap (a dot); 15:00-16:00 is one line.
    assert len(polylines) == 1
    assert len(str(polylines[0].get("points")).split()) == 2
    assert len(find_all(svg, "//s:circle", SVG)) == 1
    (limit,) = find_all(svg, "//s:line[@class='opslib-limit']", SVG)
    assert limit.get("stroke-dasharray")
    assert svg.findtext("s:title", namespaces=SVG) == "coverage per hour"


def test_report_is_offline_and_free_of_secrets(
    report: tuple[pytest.RunResult, pytest.Pytester],
) -> None:
    _, checks = report
    html = read_html(checks.path / "out" / "daily.html")
    assert find_all(html.doc, "//script[@src]") == []
    assert find_all(html.doc, "//link[@href]") == []
    for row in html.rows.values():
        for extra in row.extras:
            assert "<script" not in extra
            assert "href" not in extra
            assert "<img" not in extra
    assert "s3cretpw" not in html.raw
    assert "postgresql://u:***@127.0.0.1:1/x" in html.rows["test_daily.py::test_ok"].extras[0]


def test_plain_runs_keep_empty_columns_and_no_summary(checks: pytest.Pytester) -> None:
    checks.makepyfile(test_plain="def test_one():\n    pass\n")
    result = checks.runpytest("--html=out/plain.html")
    assert result.ret == 0
    html = read_html(checks.path / "out" / "plain.html")
    assert html.header == COLUMNS
    (row,) = html.rows.values()
    assert row.text("result") == "Passed"
    assert row.text("severity") == row.text("sop") == ""
    assert html.doc.findtext(".//title") == "plain.html"
    assert find_all(html.doc, "//p[@class='opslib-counts']") == []
    assert not (checks.path / "out" / "plain.json").exists()
    assert "opslib:" not in result.stdout.str()
