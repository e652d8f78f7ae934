"""A small inline-SVG chart renderer for the HTML report (no scripts, fonts or images): line
charts for series over time, grouped bar charts for counts per category."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from html import escape

from opslib.redact import redact
from opslib.results import Chart

__all__ = ["chart_svg"]

_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")
_LIMIT_COLOUR = "#c62828"
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 16, 40, 56
_Y_TICKS = 5

_Scale = Callable[[float], float]
_XScale = Callable[[int], float]


def chart_svg(chart: Chart, *, width: int = 720, height: int = 260) -> str:
    """``chart`` as one ``<svg>`` element: axes, labels, one polyline per series run (or bars
    when ``chart.kind`` is ``bar``), limit line.

    ``None`` and NaN values leave gaps; a lone point between gaps is drawn as a dot.
    """
    labels = _labels(chart)
    values = [v for s in chart.series for _, v in s.points if v is not None and math.isfinite(v)]
    if chart.limit is not None and math.isfinite(chart.limit):
        values.append(chart.limit)
    bars = chart.kind == "bar"
    if bars:
        values.append(0.0)  # bars grow from zero
    plot_w, plot_h = width - _LEFT - _RIGHT, height - _TOP - _BOTTOM
    lo, hi, step = _y_range(values)
    index = {label: n for n, label in enumerate(labels)}
    band = plot_w / max(1, len(labels))

    def x(n: int) -> float:
        if bars:
            return _LEFT + band * (n + 0.5)
        return _LEFT + (plot_w * n / (len(labels) - 1) if len(labels) > 1 else plot_w / 2)

    def y(v: float) -> float:
        return _TOP + plot_h * (1 - (v - lo) / (hi - lo))

    title = _text(chart.title)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="opslib-chart" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'font-family="sans-serif" font-size="11">',
        f"<title>{title}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{_LEFT}" y="18" font-size="13" font-weight="bold">{title}</text>',
    ]
    parts += _y_axis(y, lo=lo, hi=hi, step=step, plot_w=plot_w, unit=chart.unit)
    parts += _x_axis(labels, x, _TOP + plot_h, plot_w)
    if chart.limit is not None and math.isfinite(chart.limit) and lo <= chart.limit <= hi:
        ly = _n(y(chart.limit))
        parts.append(
            f'<line class="opslib-limit" x1="{_LEFT}" y1="{ly}" x2="{_LEFT + plot_w}" y2="{ly}" '
            f'stroke="{_LIMIT_COLOUR}" stroke-width="1.5" stroke-dasharray="6 4"/>'
        )
        parts.append(
            f'<text x="{_LEFT + plot_w - 2}" y="{_n(y(chart.limit) - 4)}" text-anchor="end" '
            f'fill="{_LIMIT_COLOUR}">limit {_text(f"{chart.limit:g}")}</text>'
        )
    if bars:
        parts += _bars(chart, index, x, y, band=band, lo=lo)
    else:
        parts += _lines(chart, index, x, y)
    parts += _legend(chart, width, height)
    parts.append("</svg>")
    return "".join(parts)


def _lines(chart: Chart, index: dict[str, int], x: _XScale, y: _Scale) -> list[str]:
    """One polyline per run of measured points; a lone point between gaps is a dot."""
    parts = []
    for n, series in enumerate(chart.series):
        colour = _PALETTE[n % len(_PALETTE)]
        for run in _runs((index[label], v) for label, v in series.points):
            if len(run) == 1:
                ((px, pv),) = run
                parts.append(f'<circle cx="{_n(x(px))}" cy="{_n(y(pv))}" r="2.5" fill="{colour}"/>')
                continue
            points = " ".join(f"{_n(x(px))},{_n(y(pv))}" for px, pv in run)
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2">'
                f"<title>{_text(series.name)}</title></polyline>"
            )
    return parts


def _bars(
    chart: Chart, index: dict[str, int], x: _XScale, y: _Scale, *, band: float, lo: float
) -> list[str]:
    """Grouped bars: one per series within each label's band, each titled with its value."""
    parts = []
    width = band * 0.8 / max(1, len(chart.series))
    for n, series in enumerate(chart.series):
        colour = _PALETTE[n % len(_PALETTE)]
        for label, value in series.points:
            if value is None or not math.isfinite(value):
                continue
            left = x(index[label]) - band * 0.4 + n * width
            top, bottom = sorted((y(value), y(max(lo, 0.0))))
            parts.append(
                f'<rect class="opslib-bar" x="{_n(left)}" y="{_n(top)}" width="{_n(width - 1)}" '
                f'height="{_n(bottom - top)}" fill="{colour}"><title>'
                f"{_text(f'{series.name} {label}: {value:g}')}</title></rect>"
            )
    return parts


def _labels(chart: Chart) -> list[str]:
    seen: dict[str, None] = {}
    for series in chart.series:
        for label, _ in series.points:
            seen.setdefault(label, None)
    return list(seen)


def _runs(points: Iterable[tuple[int, float | None]]) -> list[list[tuple[int, float]]]:
    """Consecutive measured points; a missing value ends a run."""
    runs: list[list[tuple[int, float]]] = [[]]
    for n, value in points:
        if value is None or not math.isfinite(value):
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append((n, value))
    return [run for run in runs if run]


def _y_range(values: Sequence[float]) -> tuple[float, float, float]:
    """A rounded axis range covering ``values`` and its tick step."""
    if not values:
        return 0.0, 1.0, 0.25
    lo, hi = min(values), max(values)
    if lo == hi:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    if lo > 0 and lo < (hi - lo):
        lo = 0.0
    step = _nice_step((hi - lo) / (_Y_TICKS - 1))
    bottom, top = math.floor(lo / step) * step, math.ceil(hi / step) * step
    if bottom == lo and lo != 0:  # keep the lowest line (often the limit) off the x axis
        bottom -= step
    return bottom, top, step


def _nice_step(raw: float) -> float:
    magnitude = math.pow(10, math.floor(math.log10(raw)))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _tick(value: float, step: float) -> str:
    decimals = max(0, math.ceil(-math.log10(step)))
    if not math.isclose(step * 10**decimals, round(step * 10**decimals)):
        decimals += 1
    return f"{value:.{decimals}f}"


def _y_axis(y: _Scale, *, lo: float, hi: float, step: float, plot_w: int, unit: str) -> list[str]:
    parts = []
    count = round((hi - lo) / step)
    for k in range(count + 1):
        value = lo + k * step
        py = _n(y(value))
        parts.append(
            f'<line x1="{_LEFT}" y1="{py}" x2="{_LEFT + plot_w}" y2="{py}" stroke="#e0e0e0"/>'
            f'<text x="{_LEFT - 6}" y="{py}" dy="0.35em" text-anchor="end" fill="#444">'
            f"{_text(_tick(value, step))}</text>"
        )
    parts.append(f'<line x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{_n(y(lo))}" stroke="#444"/>')
    if unit:
        parts.append(
            f'<text x="{_LEFT - 6}" y="{_TOP - 12}" text-anchor="end" fill="#444">'
            f"{_text(unit)}</text>"
        )
    return parts


def _x_axis(labels: Sequence[str], x: _XScale, base: float, plot_w: int) -> list[str]:
    parts = [
        f'<line x1="{_LEFT}" y1="{_n(base)}" x2="{_LEFT + plot_w}" y2="{_n(base)}" stroke="#444"/>'
    ]
    if not labels:
        return parts
    widest = max(len(label) for label in labels) * 6.5 + 12
    shown = max(1, min(len(labels), int(plot_w // widest)))
    every = max(1, math.ceil(len(labels) / shown))
    for n in range(0, len(labels), every):
        px = _n(x(n))
        parts.append(
            f'<line x1="{px}" y1="{_n(base)}" x2="{px}" y2="{_n(base + 4)}" stroke="#444"/>'
            f'<text x="{px}" y="{_n(base + 16)}" text-anchor="middle" fill="#444">'
            f"{_text(labels[n])}</text>"
        )
    return parts


def _legend(chart: Chart, width: int, height: int) -> list[str]:
    parts = []
    px = float(_LEFT)
    for n, series in enumerate(chart.series):
        colour = _PALETTE[n % len(_PALETTE)]
        name = _text(series.name)
        py = height - 12
        parts.append(
            f'<line x1="{_n(px)}" y1="{py}" x2="{_n(px + 18)}" y2="{py}" stroke="{colour}" '
            f'stroke-width="2"/><text x="{_n(px + 22)}" y="{py}" dy="0.35em">{name}</text>'
        )
        px += 34 + 6.5 * len(series.name)
        if px > width - 60:
            break
    return parts


def _text(value: str) -> str:
    return escape(redact(value), quote=True)


def _n(value: float) -> str:
    return f"{value:.1f}"
