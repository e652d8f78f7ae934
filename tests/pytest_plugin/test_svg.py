"""The inline SVG chart renderer: lines over time, grouped bars per category."""

from __future__ import annotations

import math

import lxml.etree

from opslib.pytest_plugin._svg import chart_svg
from opslib.results import Chart, Series
from tests.pytest_plugin.conftest import SVG, find_all


def _svg(chart: Chart) -> lxml.etree._Element:
    return lxml.etree.fromstring(chart_svg(chart))


def test_one_polyline_per_series_and_gaps_split_lines() -> None:
    chart = Chart(
        "rows per hour",
        (
            Series("total", (("00", 10.0), ("01", 12.0), ("02", None), ("03", 9.0), ("04", 8.0))),
            Series(
                "with price", (("00", 9.0), ("01", 11.0), ("02", 7.0), ("03", 8.0), ("04", 7.5))
            ),
        ),
        unit="rows",
    )
    svg = _svg(chart)
    polylines = find_all(svg, "//s:polyline", SVG)
    assert [len(str(p.get("points")).split()) for p in polylines] == [2, 2, 5]
    assert [p.findtext("s:title", namespaces=SVG) for p in polylines] == [
        "total",
        "total",
        "with price",
    ]
    texts = [t.text for t in find_all(svg, "//s:text", SVG)]
    assert "rows per hour" in texts
    assert "rows" in texts
    assert {"00", "04"} <= set(texts)
    assert find_all(svg, "//s:line[@class='opslib-limit']", SVG) == []


def test_points_stay_inside_the_plot_and_higher_is_up() -> None:
    chart = Chart("c", (Series("s", (("a", 0.0), ("b", 50.0), ("c", 100.0))),))
    svg = _svg(chart)
    (line,) = find_all(svg, "//s:polyline", SVG)
    points = [tuple(map(float, p.split(","))) for p in str(line.get("points")).split()]
    width, height = float(str(svg.get("width"))), float(str(svg.get("height")))
    assert all(0 <= x <= width and 0 <= y <= height for x, y in points)
    assert points[0][0] < points[1][0] < points[2][0]
    assert points[0][1] > points[1][1] > points[2][1]


def test_dashed_threshold_line_at_the_limit() -> None:
    chart = Chart("coverage", (Series("coverage", (("a", 0.99), ("b", 0.8))),), limit=0.95)
    svg = _svg(chart)
    (limit,) = find_all(svg, "//s:line[@class='opslib-limit']", SVG)
    assert limit.get("stroke-dasharray")
    (line,) = find_all(svg, "//s:polyline", SVG)
    ys = [float(p.split(",")[1]) for p in str(line.get("points")).split()]
    # 0.99 is above the limit line, 0.8 below it.
    assert ys[0] < float(str(limit.get("y1"))) < ys[1]
    assert "limit 0.95" in [t.text for t in find_all(svg, "//s:text", SVG)]


def test_text_is_escaped_and_secrets_redacted() -> None:
    chart = Chart(
        '<script>alert("x")</script>',
        (Series("postgresql://u:s3cretpw@db/x", (("<b>", 1.0), ("&", 2.0))),),
    )
    text = chart_svg(chart)
    assert "<script" not in text
    assert "s3cretpw" not in text
    svg = lxml.etree.fromstring(text)
    assert svg.findtext("s:title", namespaces=SVG) == '<script>alert("x")</script>'
    assert "<b>" in [t.text for t in find_all(svg, "//s:text", SVG)]


def test_empty_nan_and_flat_series_still_render() -> None:
    for series in (
        (),
        (Series("s", (("a", None), ("b", math.nan))),),
        (Series("s", (("a", 5.0), ("b", 5.0))),),
        (Series("s", (("only", 3.0),)),),
    ):
        svg = _svg(Chart("c", series))
        assert svg.tag == "{http://www.w3.org/2000/svg}svg"
        assert "nan" not in lxml.etree.tostring(svg).decode().lower()


def test_bar_chart_groups_one_bar_per_series_from_zero() -> None:
    chart = Chart(
        "healthy proxies per country",
        (
            Series("healthy", (("de", 4.0), ("fr", 1.0), ("us", 0.0))),
            Series("required", (("de", 2.0), ("fr", 2.0), ("us", 2.0))),
        ),
        kind="bar",
    )
    svg = _svg(chart)
    bars = find_all(svg, "//s:rect[@class='opslib-bar']", SVG)
    assert [b.findtext("s:title", namespaces=SVG) for b in bars] == [
        "healthy de: 4", "healthy fr: 1", "healthy us: 0",
        "required de: 2", "required fr: 2", "required us: 2",
    ]  # fmt: skip
    assert find_all(svg, "//s:polyline", SVG) == []
    heights = [float(str(b.get("height"))) for b in bars]
    bottoms = {round(float(str(b.get("y"))) + h, 1) for b, h in zip(bars, heights, strict=True)}
    assert len(bottoms) == 1  # every bar stands on the zero line
    assert heights[0] == 2 * heights[3]
    assert heights[1] * 4 == heights[0]
    assert heights[2] == 0
    lefts = [float(str(b.get("x"))) for b in bars]
    assert lefts[0] < lefts[3] < lefts[1] < lefts[4] < lefts[2] < lefts[5]  # grouped per country
