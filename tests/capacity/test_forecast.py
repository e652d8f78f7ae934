"""The forecast on synthetic series: trend, seasonality, noise, flat, decreasing, too short."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from opslib.capacity import MIN_DAYS, backtest, fit_daily
from opslib.errors import DataError

START = date(2026, 1, 5)  # a Monday


def series(days: int, *, level: float = 1000, slope: float = 5, weekend: float = -200,
           noise: float = 20, seed: int = 1) -> list[float]:  # fmt: skip
    rng = random.Random(seed)
    return [
        level + slope * n + (weekend if n % 7 >= 5 else 0) + rng.gauss(0, noise)
        for n in range(days)
    ]


def test_trend_and_weekly_profile_recovered() -> None:
    model = fit_daily(START, series(180))
    assert model.slope == pytest.approx(5, abs=0.2)
    profile = model.weekly_profile
    assert profile[5] < -100
    assert profile[6] < -100
    assert all(p > 0 for p in profile[:5])
    assert sum(profile) == pytest.approx(0, abs=1e-6)


def test_backtest_of_a_seasonal_trend_is_accurate() -> None:
    result = backtest(START, series(180), holdout=30)
    assert result.train_days == 150
    assert result.holdout_days == 30
    assert result.mape < 0.03


def test_interval_covers_the_truth_and_widens() -> None:
    model = fit_daily(START, series(120, noise=30))
    near = model.predict(model.end + timedelta(days=7))
    far = model.predict(model.end + timedelta(days=180))
    assert near[1] < near[0] < near[2]
    assert far[2] - far[1] > near[2] - near[1]
    truth = 1000 + 5 * (120 + 6)  # day 126 is a Monday: no weekend effect
    assert near[1] < truth < near[2]


def test_flat_series_never_crosses() -> None:
    model = fit_daily(START, series(60, slope=0, weekend=0, noise=5))
    assert abs(model.slope) < 0.5
    assert model.level_crossing(2000, within=3650) == (None, None)


def test_decreasing_series_never_reaches_a_higher_limit() -> None:
    model = fit_daily(START, series(90, slope=-3, noise=5))
    assert model.slope < 0
    assert model.level_crossing(2000, within=3650)[0] is None


def test_linear_series_crosses_on_the_right_day() -> None:
    model = fit_daily(START, [100.0 + 10 * n for n in range(30)])  # 390 on the last day
    expected, earliest = model.level_crossing(500, within=100)
    assert expected == 11
    assert earliest is not None
    assert earliest <= 11
    totals = model.running_totals(3)
    assert totals[0][0] == pytest.approx(400)
    assert totals[2][0] == pytest.approx(400 + 410 + 420)


def test_too_few_points_is_a_reason_not_a_number() -> None:
    with pytest.raises(
        DataError, match=f"too few points to forecast: 5 day\\(s\\), at least {MIN_DAYS}"
    ):
        fit_daily(START, [1.0] * 5)
    with pytest.raises(DataError, match="too few points to backtest"):
        backtest(START, series(40), holdout=30)


def test_missing_values_refused() -> None:
    with pytest.raises(DataError, match="missing or infinite"):
        fit_daily(START, [*series(20), float("nan")])
