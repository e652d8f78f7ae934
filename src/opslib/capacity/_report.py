"""monthly.capacity: storage growth, volumes, URLs monitored, resource trends per service and
scraper replicas, each forecast for the configured horizons with a 95 % interval and the date
it crosses its limit; the forecasts backtested on the held-out last days; the backup retention
policy's disk cost against the backup volume.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from opslib.adapters import Database
from opslib.backups import policy_in_force
from opslib.capacity._forecast import Backtest, DailyForecast, backtest, fit_daily
from opslib.capacity._policy import (
    POLICY_DAYS,
    SOP,
    PolicyCost,
    backup_policy_result,
    policy_cost,
)
from opslib.capacity._sources import (
    DailyCounts,
    RangeQuery,
    TableSize,
    VolumeUsage,
    daily_counts,
    database_size,
    database_volume,
    directory_volume,
    service_series,
    table_sizes,
)
from opslib.config import Settings
from opslib.errors import DataError, OpsError
from opslib.quality import PlatformSchema, TableKey
from opslib.results import Chart, CheckResult, Measurement, Series, Table

__all__ = [
    "CapacityReport",
    "ForecastLine",
    "HorizonValue",
    "capacity_report",
    "forecast_chart",
    "forecast_table",
    "volumes_table",
]

SEARCH_DAYS = 5 * 365
"""How far ahead a limit crossing is looked for."""
_STORAGE_REMEDY = (
    "reclaim space with `opslib db maintain` (VACUUM, bloat), keep fewer backups with "
    "`opslib backup policy --set keep_daily=N`, or grow the volume before the date shown"
)
_GiB = 2**30


@dataclass(frozen=True)
class HorizonValue:
    """A forecast ``days`` ahead (on ``on``): estimate and 95 % interval."""

    days: int
    on: date
    estimate: float
    low: float
    high: float


@dataclass(frozen=True)
class ForecastLine:
    """One forecast quantity: its history, its value now and at each horizon, its limit and
    the day it is expected to reach it (``earliest_on``: by the interval's upper edge)."""

    name: str
    unit: str
    current: float | None
    horizons: tuple[HorizonValue, ...] = ()
    limit: float | None = None
    crosses_on: date | None = None
    earliest_on: date | None = None
    mape: float | None = None
    note: str = ""
    history: tuple[tuple[date, float], ...] = ()
    path: tuple[tuple[date, float, float, float], ...] = ()
    """Every day up to the last horizon: (day, estimate, low, high)."""

    @property
    def forecast(self) -> bool:
        return bool(self.horizons)


@dataclass(frozen=True)
class CapacityReport:
    """What ``opslib capacity report`` shows and ``checks/monthly`` judges."""

    today: date
    database_bytes: int | None
    tables: tuple[TableSize, ...]
    volumes: tuple[VolumeUsage, ...]
    lines: tuple[ForecastLine, ...]
    scaling: tuple[str, ...]
    backtests: tuple[tuple[str, Backtest], ...]
    results: tuple[CheckResult, ...] = field(default=())
    backup_policy: PolicyCost | None = None
    """The backup retention policy's projected disk cost (None: it could not be computed)."""

    def line(self, name: str) -> ForecastLine | None:
        """The forecast line called ``name``."""
        return next((line for line in self.lines if line.name == name), None)


def _day(today: date, days: int) -> date:
    return today + timedelta(days=days - 1)


def _level_line(
    name: str, unit: str, start: date, values: Sequence[float], settings: Settings,
    *, limit: float | None = None, today: date,
) -> tuple[ForecastLine, DailyForecast | None]:  # fmt: skip
    history = tuple((start + timedelta(days=n), v) for n, v in enumerate(values))
    current = values[-1] if values else None
    try:
        model = fit_daily(start, values)
    except DataError as exc:
        return ForecastLine(name, unit, current, note=str(exc), history=history), None
    horizons = tuple(
        HorizonValue(
            h, model.end + timedelta(days=h), *model.predict(model.end + timedelta(days=h))
        )
        for h in settings.capacity.horizons
    )
    crosses = earliest = None
    if limit is not None:
        expected, first = model.level_crossing(limit, within=SEARCH_DAYS)
        crosses = None if expected is None else model.end + timedelta(days=expected)
        earliest = None if first is None else model.end + timedelta(days=first)
    path = tuple(
        (model.end + timedelta(days=k), *model.predict(model.end + timedelta(days=k)))
        for k in range(1, max(settings.capacity.horizons) + 1)
    )
    line = ForecastLine(
        name, unit, current, horizons, limit, crosses, earliest,
        _mape(start, values, settings), history=history, path=path,
    )  # fmt: skip
    return line, model


def _mape(start: date, values: Sequence[float], settings: Settings) -> float | None:
    try:
        return backtest(start, values, holdout=settings.capacity.backtest_days).mape
    except DataError:
        return None


@dataclass(frozen=True)
class _Growth:
    """A table's forecast growth: rows per day times bytes per row."""

    size: TableSize
    model: DailyForecast

    def totals(self, days: int) -> list[tuple[float, float, float]]:
        per_row = self.size.bytes_per_row or 0.0
        return [
            (e * per_row, lo * per_row, hi * per_row)
            for e, lo, hi in self.model.running_totals(days)
        ]


def _summed(growths: Sequence[_Growth], days: int) -> list[tuple[float, float, float]]:
    """Bytes added over 1 .. ``days`` days by every table (intervals added: conservative)."""
    out = [(0.0, 0.0, 0.0)] * days
    for growth in growths:
        out = [
            (a + e, b + lo, c + hi)
            for (a, b, c), (e, lo, hi) in zip(out, growth.totals(days), strict=True)
        ]
    return out


def _volume_line(  # noqa: PLR0917 - one call site, each argument a different figure
    name: str, volume: VolumeUsage, used_now: int, added: list[tuple[float, float, float]],
    horizons: Sequence[int], end: date, history: tuple[tuple[date, float], ...], note: str,
) -> ForecastLine:  # fmt: skip
    limit = None if volume.free is None else float(used_now + volume.free)
    values = tuple(
        HorizonValue(h, end + timedelta(days=h), *(used_now + x for x in added[h - 1]))
        for h in horizons
    )
    crosses = earliest = None
    if volume.free is not None:
        crosses = next(
            (
                end + timedelta(days=k + 1)
                for k, (e, _l, _h) in enumerate(added)
                if e >= volume.free
            ),
            None,
        )
        earliest = next(
            (
                end + timedelta(days=k + 1)
                for k, (_e, _l, h) in enumerate(added)
                if h >= volume.free
            ),
            None,
        )
    elif not note:
        note = volume.note
    path = tuple(
        (end + timedelta(days=k + 1), used_now + e, used_now + lo, used_now + hi)
        for k, (e, lo, hi) in enumerate(added[: max(horizons)])
    )
    return ForecastLine(
        name, "bytes", float(used_now), values, limit, crosses, earliest, None, note, history, path
    )


def capacity_report(
    db: Database,
    settings: Settings,
    *,
    prometheus: RangeQuery | None = None,
    replicas: int | None = None,
    today: date | None = None,
) -> CapacityReport:
    """Read sizes, daily counts, volumes and (with ``prometheus``) resource series over
    ``capacity.history_days``; forecast each; judge the volumes, the replicas and the
    forecasts' backtest. ``replicas``: scraper replicas running now (from the platform)."""
    today = today or datetime.now(UTC).date()
    cap = settings.capacity
    schema = PlatformSchema.read(db, settings.tables)
    sizes = table_sizes(db, schema)
    db_bytes = database_size(db)
    keys: tuple[TableKey, ...] = ("price_history", "scrape_logs")
    counts = {
        key: daily_counts(db, schema, key, days=cap.history_days, today=today) for key in keys
    }
    tables = _table_lines(schema, sizes, counts, settings, today)
    db_volume = database_volume(db, db_bytes, cap.database_volume_bytes)
    backup_volume = directory_volume(
        "backup volume", settings.backups.backup_dir, cap.backup_volume_bytes
    )
    lines = [
        *tables.lines,
        *_storage_lines(tables, db_bytes, sizes, counts, (db_volume, backup_volume), settings),
    ]
    prices = counts.get("price_history")
    if prices is not None and prices.urls:
        line, _ = _level_line(
            "URLs monitored", "URLs", prices.start, prices.urls, settings, today=today
        )
        lines.append(line)
    scaling_line, statements = _replicas(counts, settings, replicas, today)
    if scaling_line is not None:
        lines.append(scaling_line)
    lines += _resource_lines(prometheus, settings, today)
    statements = _storage_statements(lines, db_volume, backup_volume) + statements
    report = CapacityReport(
        today, db_bytes, tuple(sizes), (db_volume, backup_volume), tuple(lines),
        tuple(statements), tuple(tables.backtests),
    )  # fmt: skip
    policy = _policy_cost(db, settings, backup_volume, report.line("database size"))
    results = (
        _storage_result(report, settings),
        _replicas_result(report, settings, scaling_line),
        _backtest_result(report, settings, tables.problems),
        policy if isinstance(policy, CheckResult) else backup_policy_result(policy, settings),
    )
    return replace(
        report, results=results, backup_policy=None if isinstance(policy, CheckResult) else policy
    )


def _policy_cost(
    db: Database, settings: Settings, volume: VolumeUsage, line: ForecastLine | None
) -> PolicyCost | CheckResult:
    """The policy in force's projected cost, or the UNKNOWN result saying why there is none."""
    try:
        policy = policy_in_force(db, settings.backups)
        return policy_cost(db, settings, policy, volume, line, horizons=settings.capacity.horizons)
    except OpsError as exc:
        title = f"backup volume holds the retention policy for the next {POLICY_DAYS} days"
        return CheckResult.unknown(SOP, title, str(exc))


@dataclass
class _Tables:
    lines: list[ForecastLine] = field(default_factory=list)
    growths: list[_Growth] = field(default_factory=list)
    backtests: list[tuple[str, Backtest]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _table_lines(
    schema: PlatformSchema, sizes: Sequence[TableSize],
    counts: dict[TableKey, DailyCounts | None], settings: Settings, today: date,
) -> _Tables:  # fmt: skip
    """Rows per day of each table with a timestamp, forecast, and its growth in bytes."""
    out = _Tables()
    for size in sizes:
        if size.key == "monitored_urls":
            continue
        got = counts.get(size.key)
        if got is None:
            stamp = "checked_at" if size.key == "price_history" else "started_at"
            out.problems.append(schema.missing(size.key, stamp) or "")
            continue
        name = f"{size.name} rows/day"
        line, model = _level_line(name, "rows/day", got.start, got.rows, settings, today=today)
        out.lines.append(line)
        if model is not None and size.bytes_per_row:
            out.growths.append(_Growth(size, model))
        try:
            holdout = settings.capacity.backtest_days
            out.backtests.append((name, backtest(got.start, got.rows, holdout=holdout)))
        except DataError as exc:
            out.problems.append(f"{name}: {exc}")
    return out


def _storage_lines(  # noqa: PLR0917 - one call site
    tables: _Tables, db_bytes: int, sizes: Sequence[TableSize],
    counts: dict[TableKey, DailyCounts | None], volumes: tuple[VolumeUsage, VolumeUsage],
    settings: Settings,
) -> list[ForecastLine]:  # fmt: skip
    """The database's size and the backups' against their volumes."""
    db_volume, backup_volume = volumes
    horizons = settings.capacity.horizons
    if not tables.growths:
        notes = "; ".join(line.note for line in tables.lines if line.note)
        why = (
            f"no forecast of the tables' growth: {notes}"
            if tables.lines
            else "no platform table with a timestamp to count rows per day by"
        )
        return [
            ForecastLine("database size", "bytes", float(db_bytes), note=why),
            ForecastLine("backups", "bytes", float(backup_volume.used_by_data), note=why),
        ]
    added = _summed(tables.growths, max(SEARCH_DAYS, *horizons))
    end = _end(tables.growths)
    history = _size_history(db_bytes, sizes, counts)
    ratio = backup_volume.used_by_data / db_bytes if db_bytes else 0.0
    backup_added = [(e * ratio, lo * ratio, hi * ratio) for e, lo, hi in added]
    return [
        _volume_line("database size", db_volume, db_bytes, added, horizons, end, history, ""),
        _volume_line(
            "backups", backup_volume, backup_volume.used_by_data, backup_added, horizons, end,
            (), "backups assumed to grow with the database",
        ),
    ]  # fmt: skip


def _end(growths: Sequence[_Growth]) -> date:
    return max(g.model.end for g in growths)


def _size_history(
    db_bytes: int, sizes: Sequence[TableSize], counts: dict[TableKey, DailyCounts | None]
) -> tuple[tuple[date, float], ...]:
    """The database's size on each past day, rebuilt from today's size less the bytes of rows
    written since (each table's rows per day times its bytes per row)."""
    per_day: dict[date, float] = {}
    for size in sizes:
        got = counts.get(size.key)
        if got is None or not size.bytes_per_row:
            continue
        for n, rows in enumerate(got.rows):
            day = got.start + timedelta(days=n)
            per_day[day] = per_day.get(day, 0.0) + rows * size.bytes_per_row
    out = []
    remaining = float(db_bytes)
    for day in sorted(per_day, reverse=True):
        out.append((day, remaining))
        remaining -= per_day[day]
    return tuple(reversed(out))


def _replicas(
    counts: dict[TableKey, DailyCounts | None],
    settings: Settings,
    replicas: int | None,
    today: date,
) -> tuple[ForecastLine | None, list[str]]:
    got = counts.get("scrape_logs") or counts.get("price_history")
    if got is None or not got.rows:
        return None, []
    per_replica = settings.capacity.requests_per_replica
    limit = per_replica * replicas if per_replica and replicas else None
    line, model = _level_line(
        "requests/day", "requests/day", got.start, got.rows, settings, limit=limit, today=today
    )
    if model is None:
        return line, []
    if not per_replica:
        note = (
            "scraper replicas needed not computed: set capacity.requests_per_replica (requests"
            " per day one scraper replica handles)"
        )
        return ForecastLine(**{**line.__dict__, "note": note}), []
    statements = []
    for h in line.horizons:
        peak = max((e, hi) for d, e, _lo, hi in line.path if d <= h.on)
        need = max(1, math.ceil(peak[0] / per_replica))
        statements.append(
            f"{need} scraper replica(s) needed by {h.on.isoformat()} for up to {peak[0]:,.0f}"
            f" requests/day ({max(1, math.ceil(peak[1] / per_replica))} at the interval's"
            " upper edge)"
        )
    if replicas is not None and line.crosses_on is not None:
        need = replicas + 1
        statements.insert(
            0,
            f"at the current growth the {replicas} running scraper replica(s) are at capacity"
            f" on {line.crosses_on.isoformat()}: {need} will be needed by then"
            f" (`opslib scale scraper {need}`)",
        )
    return line, statements


def _storage_statements(
    lines: Sequence[ForecastLine], db_volume: VolumeUsage, backup_volume: VolumeUsage
) -> list[str]:
    out = []
    for name, volume in (("database size", db_volume), ("backups", backup_volume)):
        line = next((x for x in lines if x.name == name), None)
        if line is None or not line.forecast:
            continue
        if volume.free is None:
            out.append(f"{volume.name}: size unknown ({volume.note})")
        elif line.crosses_on is not None:
            out.append(
                f"at the current growth the {name} fills the {volume.name} on"
                f" {line.crosses_on.isoformat()} (at the earliest {line.earliest_on})"
            )
        else:
            out.append(
                f"the {volume.name} holds the forecast {name} for {SEARCH_DAYS // 365} years"
            )
    return out


def _resource_lines(
    prometheus: RangeQuery | None, settings: Settings, today: date
) -> list[ForecastLine]:
    names = settings.metric_names
    if prometheus is None:
        return [
            ForecastLine(
                "resources per service", "", None, note="no Prometheus: resource trends not read"
            )
        ]
    label = names.service_label
    queries = (
        (
            "CPU",
            "cores",
            f"sum by ({label}) (rate({names.container_cpu}[1d]))",
            names.container_cpu,
        ),
        (
            "memory",
            "bytes",
            f"sum by ({label}) (avg_over_time({names.container_memory}[1d]))",
            names.container_memory,
        ),
    )
    out: list[ForecastLine] = []
    for what, unit, promql, metric in queries:
        try:
            found = service_series(
                prometheus, promql, label, days=settings.capacity.history_days, today=today
            )
        except OpsError as exc:
            out.append(
                ForecastLine(
                    f"{what} per service", unit, None, note=f"resource trends not read: {exc}"
                )
            )
            continue
        if not found:
            out.append(
                ForecastLine(
                    f"{what} per service",
                    unit,
                    None,
                    note=(
                        f"Prometheus has no {metric} series (cAdvisor's): resource trends per"
                        " service not measured (set metric_names.container_cpu / container_memory)"
                    ),
                )
            )
            continue
        for service, (start, values) in sorted(found.items()):
            line, _ = _level_line(
                f"{what}[{service or '-'}]", unit, start, values, settings, today=today
            )
            out.append(line)
    return out


def _days_until(line: ForecastLine | None, today: date) -> tuple[float | None, str]:
    if line is None:
        return None, "not computed"
    if not line.forecast:
        return None, line.note or "no forecast"
    if line.limit is None:
        return None, line.note or "limit unknown"
    if line.crosses_on is None:
        return math.inf, f"not within {SEARCH_DAYS // 365} years"
    days = (line.crosses_on - today).days
    return (
        float(max(0, days)),
        f"reaches {_fmt(line.limit, line.unit)} on {line.crosses_on}"
        f" (at the earliest {line.earliest_on})",
    )


def _fmt(value: float, unit: str) -> str:
    if unit == "bytes":
        return f"{value / _GiB:.2f} GiB"
    return f"{value:,.0f} {unit}"


def _storage_result(report: CapacityReport, settings: Settings) -> CheckResult:
    threshold = settings.threshold("capacity.days_until_full")
    measurements = []
    for name, volume in (("database size", report.volumes[0]), ("backups", report.volumes[1])):
        line = report.line(name)
        days, note = _days_until(line, report.today)
        if line is not None and line.forecast and volume.free is None:
            days, note = None, volume.note
        measurements.append(Measurement("days_until_full", days, threshold, volume.name, note))
    title = "database and backup volumes hold the forecast growth"
    if all(m.value is None for m in measurements):
        reason = "; ".join(f"{m.subject}: {m.note}" for m in measurements)
        return CheckResult.unknown(SOP, title, reason)
    return CheckResult(
        SOP,
        title,
        tuple(measurements),
        _STORAGE_REMEDY,
        tables=(volumes_table(report), forecast_table(report)),
        charts=tuple(
            forecast_chart(line)
            for line in report.lines
            if line.name in ("database size", "backups") and line.history
        ),
    )


def _replicas_result(
    report: CapacityReport, settings: Settings, line: ForecastLine | None
) -> CheckResult:
    title = "scraper replicas enough for the forecast load"
    if line is None:
        return CheckResult.unknown(
            SOP,
            title,
            "no request history: table scrape_logs (or price_history) has no rows to count",
        )
    days, note = _days_until(line, report.today)
    if line.forecast and line.limit is None:
        days = None
        note = line.note or "the running scraper replicas are unknown (no Docker engine answered)"
    if days is None:
        return CheckResult.unknown(SOP, title, note)
    scaling = [s for s in report.scaling if "replica" in s]
    need = next((s for s in scaling if "opslib scale scraper" in s), "")
    remedy = (
        need.split("(", 1)[1].rstrip(")")
        if need
        else "`opslib scale scraper N` before the date shown"
    )
    threshold = settings.threshold("capacity.days_until_scale_out")
    return CheckResult(
        SOP, title,
        (Measurement("days_until_scale_out", days, threshold, "scraper", note),),
        f"scale out: {remedy}",
        tables=(Table(("scaling need",), tuple((s,) for s in scaling)),) if scaling else (),
        charts=(forecast_chart(line),) if line.history else (),
    )  # fmt: skip


def _backtest_result(
    report: CapacityReport, settings: Settings, problems: Sequence[str]
) -> CheckResult:
    title = f"forecasts backtested on the last {settings.capacity.backtest_days} days"
    if not report.backtests:
        reason = "; ".join(p for p in problems if p) or "no series to backtest"
        return CheckResult.unknown(SOP, title, reason)
    threshold = settings.threshold("capacity.forecast_mape")
    return CheckResult(
        SOP, title,
        tuple(
            Measurement("forecast_mape", round(b.mape, 4), threshold, name,
                        f"fitted on {b.train_days} days, {b.holdout_days} held out")
            for name, b in report.backtests
        ),
        "a poor backtest means the growth changed course: read the chart and re-plan by hand",
    )  # fmt: skip


def volumes_table(report: CapacityReport) -> Table:
    """The volumes: size, free, used by the watched data."""

    def gib(value: int | None) -> str:
        return "unknown" if value is None else f"{value / _GiB:.2f}"

    return Table(
        ("volume", "path", "size GiB", "free GiB", "data GiB", "from"),
        tuple(
            (v.name, v.path or "-", gib(v.size), gib(v.free), gib(v.used_by_data), v.note)
            for v in report.volumes
        ),
        "volumes",
    )


def _cell(value: float, unit: str) -> str:
    if unit == "bytes":
        return f"{value / _GiB:.2f} GiB"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _range(h: HorizonValue, unit: str) -> str:
    return f"{_cell(h.estimate, unit)} ({_cell(h.low, unit)} .. {_cell(h.high, unit)})"


def forecast_table(report: CapacityReport) -> Table:
    """Every forecast line: now, each horizon (estimate and interval), the crossing."""
    horizons = report.lines[0].horizons if report.lines else ()
    days = sorted({h.days for line in report.lines for h in line.horizons}) or [
        h.days for h in horizons
    ]
    rows = []
    for line in report.lines:
        by_days = {h.days: h for h in line.horizons}
        cells = [_range(by_days[d], line.unit) if d in by_days else "-" for d in days]
        crossing = (
            str(line.crosses_on)
            if line.crosses_on
            else ("not within 5 years" if line.limit is not None and line.forecast else "-")
        )
        now = "-" if line.current is None else _cell(line.current, line.unit)
        mape = "-" if line.mape is None else f"{line.mape:.1%}"
        rows.append((line.name, now, *cells, crossing, mape, line.note))
    return Table(
        (
            "quantity",
            "now",
            *(f"+{d} days (95 %)" for d in days),
            "reaches limit",
            "backtest MAPE",
            "note",
        ),
        tuple(rows),
        "forecasts",
    )


def forecast_chart(line: ForecastLine) -> Chart:
    """History and forecast of one line, the interval's edges and the limit."""
    scale = _GiB if line.unit == "bytes" else 1.0
    unit = "GiB" if line.unit == "bytes" else line.unit
    past = tuple((d.isoformat(), v / scale) for d, v in line.history)
    future = tuple((d.isoformat(), e / scale) for d, e, _lo, _hi in line.path)
    low = tuple((d.isoformat(), lo / scale) for d, _e, lo, _hi in line.path)
    high = tuple((d.isoformat(), hi / scale) for d, _e, _lo, hi in line.path)
    last = past[-1:] if past else ()
    series = [Series("history", past)]
    if future:
        series += [
            Series("forecast", last + future),
            Series("95 % low", last + low),
            Series("95 % high", last + high),
        ]
    highest = max((v for _d, v in past), default=0.0)
    highest = max([highest, *(v for _d, v in high)])
    limit = None if line.limit is None else line.limit / scale
    title = line.name
    if limit is not None and highest > 0 and limit > 3 * highest:
        # A limit far above the data would flatten it to the axis: named, not drawn.
        title = f"{line.name} (limit {limit:,.1f} {unit}, off the chart)"
        limit = None
    return Chart(title, tuple(series), unit, limit)
