"""A documented simple forecast: linear trend plus a day-of-week profile, by least squares.

``y(t) = a + b*t + s[weekday(t)]`` with the seven weekday effects summing to zero, fitted to a
daily series with ordinary least squares (the normal equations solved in pure Python: nine
unknowns at most, so no numpy). A series shorter than two weeks is fitted without the weekly
profile. Prediction intervals come from the residual spread and the parameters' covariance,
``var = sigma^2 * (1 + x' (X'X)^-1 x)`` for one day and the same summed for a running total.
:func:`backtest` fits all but the last ``holdout`` days and scores the forecast of those days
by the mean absolute percentage error (MAPE).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from opslib.errors import DataError

__all__ = ["Backtest", "DailyForecast", "backtest", "fit_daily"]

MIN_DAYS = 14
"""Days a series needs before it is forecast (two weeks: a trend and a weekly profile)."""
_SEASONAL_DAYS = 14
_Z = 1.96  # two-sided 95 %


@dataclass(frozen=True)
class DailyForecast:
    """A fitted series: ``predict`` a day's value, ``total`` the sum over the next days, each
    with a 95 % interval; ``crossing`` the first day a level reaches a limit."""

    start: date
    values: tuple[float, ...]
    coefficients: tuple[float, ...]
    covariance: tuple[tuple[float, ...], ...]
    sigma: float
    seasonal: bool

    @property
    def end(self) -> date:
        """The last observed day."""
        return self.start + timedelta(days=len(self.values) - 1)

    @property
    def slope(self) -> float:
        """The trend per day."""
        return self.coefficients[1]

    @property
    def weekly_profile(self) -> tuple[float, ...]:
        """The weekday effects, Monday first (zeros without a seasonal fit)."""
        if not self.seasonal:
            return (0.0,) * 7
        effects = list(self.coefficients[2:])
        return (*effects, -math.fsum(effects))

    def _row(self, day: date) -> list[float]:
        t = float((day - self.start).days)
        row = [1.0, t]
        if self.seasonal:
            weekday = day.weekday()
            row += [1.0 if weekday == d else -1.0 if weekday == 6 else 0.0 for d in range(6)]
        return row

    def _estimate(self, row: Sequence[float]) -> float:
        return math.fsum(c * x for c, x in zip(self.coefficients, row, strict=True))

    def _spread(self, row: Sequence[float]) -> float:
        cov = self.covariance
        return math.fsum(
            row[i] * cov[i][j] * row[j] for i in range(len(row)) for j in range(len(row))
        )

    def predict(self, day: date) -> tuple[float, float, float]:
        """The value expected on ``day``: (estimate, low, high), 95 %."""
        row = self._row(day)
        estimate = self._estimate(row)
        half = _Z * math.sqrt(max(0.0, self.sigma**2 + self._spread(row)))
        return estimate, estimate - half, estimate + half

    def total(self, days: int) -> tuple[float, float, float]:
        """The sum over the ``days`` after the last observed one: (estimate, low, high)."""
        if days <= 0:
            return 0.0, 0.0, 0.0
        summed = [0.0] * len(self.coefficients)
        for k in range(1, days + 1):
            for i, x in enumerate(self._row(self.end + timedelta(days=k))):
                summed[i] += x
        estimate = self._estimate(summed)
        half = _Z * math.sqrt(max(0.0, days * self.sigma**2 + self._spread(summed)))
        return estimate, estimate - half, estimate + half

    def fitted(self) -> list[float]:
        """The model's value on every observed day."""
        return [
            self._estimate(self._row(self.start + timedelta(days=n)))
            for n in range(len(self.values))
        ]

    def level_crossing(self, limit: float, *, within: int) -> tuple[int | None, int | None]:
        """Days after the last observed one until the level reaches ``limit``: (expected,
        earliest by the interval's upper edge); None when not within ``within`` days."""
        expected = earliest = None
        for k in range(1, within + 1):
            estimate, _low, high = self.predict(self.end + timedelta(days=k))
            if earliest is None and high >= limit:
                earliest = k
            if estimate >= limit:
                expected = k
                break
        return expected, earliest

    def running_totals(self, days: int) -> list[tuple[float, float, float]]:
        """The running sum from the day after the last observed one, for 1 .. ``days`` days:
        (estimate, low, high) each; so a quantity growing by this series per day (rows,
        bytes) is forecast by its current value plus these."""
        out = []
        summed = [0.0] * len(self.coefficients)
        for k in range(1, days + 1):
            for i, x in enumerate(self._row(self.end + timedelta(days=k))):
                summed[i] += x
            estimate = self._estimate(summed)
            half = _Z * math.sqrt(max(0.0, k * self.sigma**2 + self._spread(summed)))
            out.append((estimate, estimate - half, estimate + half))
        return out


def fit_daily(start: date, values: Sequence[float]) -> DailyForecast:
    """Fit trend and (from two weeks on) weekly profile to one value per day from ``start``.

    Raises :class:`DataError` with the reason when there are fewer than :data:`MIN_DAYS` values
    or one is not finite."""
    if len(values) < MIN_DAYS:
        raise DataError(
            f"too few points to forecast: {len(values)} day(s), at least {MIN_DAYS} needed"
        )
    if not all(math.isfinite(v) for v in values):
        raise DataError("cannot forecast a series with missing or infinite values")
    seasonal = len(values) >= _SEASONAL_DAYS
    probe = DailyForecast(start, tuple(values), (), (), 0.0, seasonal)
    rows = [probe._row(start + timedelta(days=n)) for n in range(len(values))]
    width = len(rows[0])
    xtx = [[math.fsum(r[i] * r[j] for r in rows) for j in range(width)] for i in range(width)]
    xty = [math.fsum(r[i] * y for r, y in zip(rows, values, strict=True)) for i in range(width)]
    inverse = _invert(xtx)
    coefficients = [math.fsum(inverse[i][j] * xty[j] for j in range(width)) for i in range(width)]
    residuals = [
        y - math.fsum(c * x for c, x in zip(coefficients, r, strict=True))
        for r, y in zip(rows, values, strict=True)
    ]
    dof = max(1, len(values) - width)
    sigma = math.sqrt(math.fsum(e * e for e in residuals) / dof)
    covariance = tuple(tuple(sigma**2 * v for v in row) for row in inverse)
    return DailyForecast(start, tuple(values), tuple(coefficients), covariance, sigma, seasonal)


def _invert(matrix: list[list[float]]) -> list[list[float]]:
    """Gauss-Jordan inverse with partial pivoting (the normal equations are tiny)."""
    size = len(matrix)
    work = [[*row, *(1.0 if i == j else 0.0 for j in range(size))] for i, row in enumerate(matrix)]
    for col in range(size):
        pivot = max(range(col, size), key=lambda r: abs(work[r][col]))
        if abs(work[pivot][col]) < 1e-12:
            raise DataError("cannot forecast: the series does not determine a trend")
        work[col], work[pivot] = work[pivot], work[col]
        lead = work[col][col]
        work[col] = [v / lead for v in work[col]]
        for r in range(size):
            if r != col and work[r][col] != 0.0:
                factor = work[r][col]
                work[r] = [a - factor * b for a, b in zip(work[r], work[col], strict=True)]
    return [row[size:] for row in work]


@dataclass(frozen=True)
class Backtest:
    """How well the model forecast the held-out last days: MAPE (a share: 0.05 is 5 %)."""

    train_days: int
    holdout_days: int
    mape: float
    actual: tuple[float, ...]
    predicted: tuple[float, ...]


def backtest(start: date, values: Sequence[float], *, holdout: int = 30) -> Backtest:
    """Fit on all but the last ``holdout`` days, forecast those, and score by MAPE.

    Raises :class:`DataError` when the training part is too short or every held-out value is
    zero (a percentage error needs a non-zero actual)."""
    if len(values) - holdout < MIN_DAYS:
        raise DataError(
            f"too few points to backtest: {len(values)} day(s), at least"
            f" {MIN_DAYS + holdout} needed ({MIN_DAYS} to fit, {holdout} held out)"
        )
    train = values[: len(values) - holdout]
    model = fit_daily(start, train)
    actual = list(values[len(values) - holdout :])
    predicted = [model.predict(model.end + timedelta(days=k))[0] for k in range(1, holdout + 1)]
    pairs = [(a, p) for a, p in zip(actual, predicted, strict=True) if a != 0]
    if not pairs:
        raise DataError("cannot score the backtest: every held-out value is zero")
    mape = math.fsum(abs(a - p) / abs(a) for a, p in pairs) / len(pairs)
    return Backtest(len(train), holdout, mape, tuple(actual), tuple(predicted))
