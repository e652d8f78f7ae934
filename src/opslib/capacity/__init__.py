"""monthly.capacity: storage growth, volumes, resource trends and scaling needs, forecast with
a linear trend and a weekly profile (least squares, pure Python) and backtested; the backup
policy's disk cost projected with it."""

from opslib.capacity._forecast import MIN_DAYS, Backtest, DailyForecast, backtest, fit_daily
from opslib.capacity._policy import (
    POLICY_DAYS,
    PolicyCost,
    PolicyHorizon,
    backup_policy_result,
    policy_cost,
)
from opslib.capacity._report import (
    CapacityReport,
    ForecastLine,
    HorizonValue,
    capacity_report,
    forecast_chart,
    forecast_table,
    volumes_table,
)
from opslib.capacity._sources import RangeQuery, TableSize, VolumeUsage

__all__ = [
    "MIN_DAYS",
    "POLICY_DAYS",
    "Backtest",
    "CapacityReport",
    "DailyForecast",
    "ForecastLine",
    "HorizonValue",
    "PolicyCost",
    "PolicyHorizon",
    "RangeQuery",
    "TableSize",
    "VolumeUsage",
    "backtest",
    "backup_policy_result",
    "capacity_report",
    "fit_daily",
    "forecast_chart",
    "forecast_table",
    "policy_cost",
    "volumes_table",
]
