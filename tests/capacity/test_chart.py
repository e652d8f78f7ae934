"""The forecast chart: history, forecast and interval; a limit far above the data is named."""

from __future__ import annotations

from datetime import date, timedelta

from opslib.capacity import ForecastLine, forecast_chart

DAY = date(2026, 6, 1)


def _line(limit: float) -> ForecastLine:
    history = tuple((DAY + timedelta(days=n), 100.0 + n) for n in range(3))
    path = tuple((DAY + timedelta(days=3 + n), 103.0 + n, 100.0, 106.0 + n) for n in range(2))
    return ForecastLine("rows/day", "rows/day", 102.0, limit=limit, history=history, path=path)


def test_series_and_a_near_limit() -> None:
    chart = forecast_chart(_line(150))
    assert [s.name for s in chart.series] == ["history", "forecast", "95 % low", "95 % high"]
    assert chart.series[1].points[0] == chart.series[0].points[-1]  # the forecast joins on
    assert chart.limit == 150


def test_a_far_limit_is_named_not_drawn() -> None:
    chart = forecast_chart(_line(10_000))
    assert chart.limit is None
    assert "limit 10,000.0 rows/day, off the chart" in chart.title
