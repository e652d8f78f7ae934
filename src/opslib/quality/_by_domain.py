"""Quality per shop domain over a window: confidence, missing and implausible prices, overdue
URLs, and drift against the domain's own last days (``opslib quality by-domain``,
checks/emergency/data_quality).

Every figure comes from the rows inside the window (and the same window on each of the last
``quality.drift_days`` days) through the ``checked_at`` and ``(url_id, checked_at)`` indexes, so
its cost follows the rows in the windows, not the size of ``price_history``.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from psycopg import sql

from opslib.adapters import Database
from opslib.config import PlatformTables, QualitySettings, Settings
from opslib.quality._schema import PlatformSchema
from opslib.results import CheckResult, Measurement, Table

__all__ = [
    "DomainBaseline",
    "DomainQuality",
    "domain_baselines",
    "domain_coverage",
    "domain_quality",
    "implausible_prices",
    "judge_domains",
    "low_confidence_domains",
    "missing_price_rates",
    "quality_by_domain",
    "window_quality",
]

SOP = "emergency.data_quality"

# Rows inside the window, one pass; per URL first, then per domain (monitored_urls is joined
# once per URL, not per row). Implausible prices: each priced row against the same URL's
# previous priced row (LAG over url_id ORDER BY checked_at); the previous row of a URL's first
# row in the window is fetched through the (url_id, checked_at) index, one probe per URL.
_WINDOW_SQL = sql.SQL("""
WITH win AS MATERIALIZED (
    SELECT ph.{url_id} AS url_id, {price} AS price, {currency} AS currency,
           {confidence}::float8 AS confidence, ph.{checked_at} AS checked_at
    FROM {price_history} ph
    WHERE ph.{checked_at} > now() - make_interval(mins => %(minutes)s)
), per_url AS (
    SELECT url_id, count(*) AS total, count(price) AS priced,
           sum(confidence) AS conf_sum, count(confidence) AS conf_n
    FROM win
    GROUP BY url_id
), {odd}
SELECT mu.{domain} AS domain, count(*) AS urls, sum(p.total) AS total,
       {priced} AS priced, sum(p.conf_sum) / nullif(sum(p.conf_n), 0) AS confidence,
       sum(o.zero) AS zero, sum(o.negative) AS negative, sum(o.jumps) AS jumps,
       {currency_changes} AS currency_changes, sum(o.implausible) AS implausible
FROM per_url p
JOIN {monitored_urls} mu ON mu.{id} = p.url_id
LEFT JOIN odd o ON o.url_id = p.url_id
GROUP BY 1
ORDER BY 1
""")

_ODD_SQL = sql.SQL("""
priced AS (
    SELECT url_id, price, currency, checked_at, true AS inside FROM win WHERE price IS NOT NULL
    UNION ALL
    SELECT u.url_id, prev.price, prev.currency, prev.checked_at, false
    FROM (SELECT DISTINCT url_id FROM win WHERE price IS NOT NULL) u
    CROSS JOIN LATERAL (
        SELECT {price} AS price, {currency} AS currency, ph.{checked_at} AS checked_at
        FROM {price_history} ph
        WHERE ph.{url_id} = u.url_id AND {price} IS NOT NULL
          AND ph.{checked_at} <= now() - make_interval(mins => %(minutes)s)
        ORDER BY ph.{checked_at} DESC
        LIMIT 1
    ) prev
), lagged AS (
    SELECT url_id, inside, price, currency,
           lag(price) OVER w AS prev_price, lag(currency) OVER w AS prev_currency
    FROM priced
    WINDOW w AS (PARTITION BY url_id ORDER BY checked_at)
), flagged AS (
    SELECT url_id, price = 0 AS zero, price < 0 AS negative,
           coalesce(price > 0 AND prev_price > 0
                    AND abs(price - prev_price) > prev_price * %(jump)s / 100.0, false) AS jump,
           coalesce(currency <> prev_currency, false) AS currency_change
    FROM lagged
    WHERE inside
), odd AS (
    SELECT url_id, count(*) FILTER (WHERE zero) AS zero,
           count(*) FILTER (WHERE negative) AS negative, count(*) FILTER (WHERE jump) AS jumps,
           count(*) FILTER (WHERE currency_change) AS currency_changes,
           count(*) FILTER (WHERE zero OR negative OR jump OR currency_change) AS implausible
    FROM flagged
    GROUP BY url_id
)
""")

_NO_ODD_SQL = sql.SQL("""
odd AS (
    SELECT NULL::bigint AS url_id, NULL::bigint AS zero, NULL::bigint AS negative,
           NULL::bigint AS jumps, NULL::bigint AS currency_changes, NULL::bigint AS implausible
    WHERE false
)
""")

# One probe per monitored URL: its newest row, through the (url_id, checked_at) index. The
# interval column may be an interval or a number of seconds: its text form casts to both.
_COVERAGE_SQL = sql.SQL("""
SELECT mu.{domain} AS domain, count(*) AS urls,
       count(*) FILTER (WHERE last.at IS NULL
                        OR last.at < now() - %(factor)s * {interval}) AS overdue
FROM {monitored_urls} mu
CROSS JOIN LATERAL (
    SELECT max(ph.{checked_at}) AS at FROM {price_history} ph WHERE ph.{url_id} = mu.{id}
) last
{active}
GROUP BY 1
ORDER BY 1
""")

# The same window on each of the last N days, one index range scan per day. The days are
# spelled out (UNION ALL), not joined from generate_series: with constant bounds the planner
# estimates each range from the index (a few thousand rows) instead of a guessed share of the
# table, which on a large table made it pay ~0.7 s of JIT compilation for a 30 ms query.
_BASELINE_SQL = sql.SQL("""
SELECT mu.{domain} AS domain, w.day, count(*) AS total, {priced} AS priced,
       avg(w.confidence)::float8 AS confidence
FROM ({days}) AS w
JOIN {monitored_urls} mu ON mu.{id} = w.url_id
GROUP BY 1, 2
""")

_BASELINE_DAY_SQL = sql.SQL("""
SELECT {day} AS day, ph.{url_id} AS url_id, {price} AS price, {confidence} AS confidence
FROM {price_history} ph
WHERE ph.{checked_at} > now() - make_interval(days => {day}, mins => %(minutes)s)
  AND ph.{checked_at} <= now() - make_interval(days => {day})
""")

_DRIFT_CAP = 99.9  # sigmas shown for a change from a figure that never moved


@dataclass(frozen=True)
class DomainBaseline:
    """A domain's figures in the same window on each of its last days with enough rows."""

    days: int
    confidence_mean: float | None
    confidence_sd: float | None
    missing_mean: float | None
    missing_sd: float | None


@dataclass(frozen=True)
class DomainQuality:
    """One shop domain's figures over the window; ``None``: not measured (a column is absent).

    ``zero``, ``negative``, ``jumps`` and ``currency_changes`` count priced rows; ``implausible``
    counts the rows with any of them.
    """

    domain: str
    rows: int
    priced: int | None
    confidence: float | None
    zero: int | None = None
    negative: int | None = None
    jumps: int | None = None
    currency_changes: int | None = None
    implausible: int | None = None
    urls: int | None = None
    overdue: int | None = None
    baseline: DomainBaseline | None = None

    @property
    def missing(self) -> int | None:
        """Rows without a price."""
        return None if self.priced is None else self.rows - self.priced

    @property
    def missing_rate(self) -> float | None:
        """``missing / rows`` (None without rows or a price column)."""
        missing = self.missing
        return None if missing is None or not self.rows else missing / self.rows

    @property
    def implausible_rate(self) -> float | None:
        """``implausible / priced`` (None without priced rows)."""
        if self.implausible is None or not self.priced:
            return None
        return self.implausible / self.priced

    @property
    def overdue_rate(self) -> float | None:
        """``overdue / urls`` (None without monitored URLs)."""
        if self.overdue is None or not self.urls:
            return None
        return self.overdue / self.urls


def _schema(db: Database, schema: PlatformSchema | None) -> PlatformSchema:
    if schema is None:
        schema = PlatformSchema.read(db, PlatformTables())
    schema.require("price_history", "url_id", "checked_at")
    schema.require("monitored_urls", "id", "domain")
    return schema


def _names(schema: PlatformSchema) -> dict[str, sql.Composable]:
    has = schema.has
    currency = sql.SQL("ph.{}::text").format(schema.column("price_history", "currency"))
    return {
        "price_history": schema.table("price_history"),
        "monitored_urls": schema.table("monitored_urls"),
        "url_id": schema.column("price_history", "url_id"),
        "checked_at": schema.column("price_history", "checked_at"),
        "id": schema.column("monitored_urls", "id"),
        "domain": schema.column("monitored_urls", "domain"),
        "price": sql.SQL("ph.{}").format(schema.column("price_history", "price"))
        if has("price_history", "price")
        else sql.SQL("NULL::numeric"),
        "currency": currency
        if has("price_history", "price", "currency")
        else sql.SQL("NULL::text"),
        "confidence": sql.SQL("ph.{}").format(
            schema.column("price_history", "extraction_confidence")
        )
        if has("price_history", "extraction_confidence")
        else sql.SQL("NULL::float8"),
    }


def _count(value: Any) -> int | None:
    return None if value is None else int(value)


def _counted(row: dict[str, Any], key: str, *, measured: bool) -> int | None:
    """A count of the window query (a domain without such rows: 0), None when not measured."""
    return int(row[key] or 0) if measured else None


def window_quality(
    db: Database,
    minutes: int,
    jump_percent: float,
    schema: PlatformSchema | None = None,
) -> list[DomainQuality]:
    """Per domain over the last ``minutes``: rows, priced rows, average confidence and
    implausible prices (zero, negative, a jump of more than ``jump_percent`` % from the URL's
    previous price, a currency change when the table has a currency column)."""
    schema = _schema(db, schema)
    names = _names(schema)
    has_price = schema.has("price_history", "price")
    odd = _ODD_SQL.format(**names) if has_price else _NO_ODD_SQL
    has_currency = has_price and schema.has("price_history", "currency")
    query = _WINDOW_SQL.format(
        odd=odd,
        priced=sql.SQL("sum(p.priced)") if has_price else sql.SQL("NULL::bigint"),
        currency_changes=sql.SQL("sum(o.currency_changes)")
        if has_currency
        else sql.SQL("NULL::bigint"),
        **names,
    )
    rows = db.fetch_all(query, {"minutes": minutes, "jump": jump_percent})
    found = []
    for r in rows:
        priced = _count(r["priced"])
        found.append(
            DomainQuality(
                domain=str(r["domain"]),
                rows=int(r["total"]),
                priced=priced,
                confidence=None if r["confidence"] is None else float(r["confidence"]),
                zero=_counted(r, "zero", measured=has_price),
                negative=_counted(r, "negative", measured=has_price),
                jumps=_counted(r, "jumps", measured=has_price),
                currency_changes=_counted(r, "currency_changes", measured=has_currency),
                implausible=_counted(r, "implausible", measured=has_price),
            )
        )
    return found


def domain_coverage(
    db: Database, quality: QualitySettings, schema: PlatformSchema | None = None
) -> dict[str, tuple[int, int]]:
    """``{domain: (monitored URLs, overdue URLs)}``: a URL is overdue when its newest row is
    older than ``overdue_factor`` times its interval (or it has none)."""
    schema = _schema(db, schema)
    names = _names(schema)
    if schema.has("monitored_urls", "check_interval"):
        column = schema.column("monitored_urls", "check_interval")
        interval: sql.Composable = sql.SQL("mu.{}::text::interval").format(column)
    else:
        interval = sql.SQL("make_interval(secs => %(default)s)")
    active = (
        sql.SQL("WHERE mu.{}").format(schema.column("monitored_urls", "active"))
        if schema.has("monitored_urls", "active")
        else sql.SQL("")
    )
    query = _COVERAGE_SQL.format(interval=interval, active=active, **names)
    params = {"factor": quality.overdue_factor, "default": quality.default_interval_minutes * 60}
    return {
        str(r["domain"]): (int(r["urls"]), int(r["overdue"])) for r in db.fetch_all(query, params)
    }


def domain_baselines(
    db: Database,
    minutes: int,
    days: int,
    min_rows: int,
    schema: PlatformSchema | None = None,
) -> dict[str, DomainBaseline]:
    """Each domain's confidence and missing-price rate in the same ``minutes`` window on each
    of the last ``days`` days (days with fewer than ``min_rows`` rows left out): mean and sd."""
    schema = _schema(db, schema)
    names = _names(schema)
    has_price = schema.has("price_history", "price")
    each_day = sql.SQL(" UNION ALL ").join(
        _BASELINE_DAY_SQL.format(day=sql.Literal(day), **names) for day in range(1, days + 1)
    )
    query = _BASELINE_SQL.format(
        days=each_day,
        priced=sql.SQL("count(w.price)") if has_price else sql.SQL("NULL"),
        **names,
    )
    per_domain: dict[str, list[dict[str, Any]]] = {}
    for r in db.fetch_all(query, {"minutes": minutes}):
        if int(r["total"]) >= min_rows:
            per_domain.setdefault(str(r["domain"]), []).append(r)
    baselines = {}
    for domain, found in per_domain.items():
        confidences = [float(r["confidence"]) for r in found if r["confidence"] is not None]
        missing = [1 - int(r["priced"]) / int(r["total"]) for r in found if r["priced"] is not None]
        baselines[domain] = DomainBaseline(len(found), *_spread(confidences), *_spread(missing))
    return baselines


def _spread(values: Sequence[float]) -> tuple[float | None, float | None]:
    if len(values) < 2:
        return None, None
    return statistics.fmean(values), statistics.stdev(values)


def domain_quality(
    db: Database, settings: Settings, minutes: int, schema: PlatformSchema | None = None
) -> list[DomainQuality]:
    """Every measure per domain over the last ``minutes``: :func:`window_quality`, coverage of
    the monitored URLs and the baseline of the last ``quality.drift_days`` days. A domain with
    monitored URLs but no rows in the window is listed with 0 rows."""
    schema = _schema(db, schema or PlatformSchema.read(db, settings.tables))
    quality = settings.quality
    window = {q.domain: q for q in window_quality(db, minutes, quality.price_jump_percent, schema)}
    coverage = domain_coverage(db, quality, schema)
    baselines = domain_baselines(db, minutes, quality.drift_days, settings.quality_min_rows, schema)
    has_price = schema.has("price_history", "price")
    empty = DomainQuality("", 0, 0 if has_price else None, None)
    result = []
    for domain in sorted(set(window) | set(coverage)):
        figures = window.get(domain) or replace(empty, domain=domain)
        urls, overdue = coverage.get(domain, (None, None))
        result.append(replace(figures, urls=urls, overdue=overdue, baseline=baselines.get(domain)))
    return result


# judging


def _per_domain(
    q: DomainQuality,
    settings: Settings,
    name: str,
    value: float | None,
    *,
    threshold_name: str,
    note: str = "",
) -> Measurement:
    """``value`` of domain ``q`` judged, unless the window holds too few of its rows."""
    shown = None if value is None else round(value, 4)
    if q.rows < settings.quality_min_rows:
        few = f"{q.rows} rows (quality_min_rows {settings.quality_min_rows}): not judged"
        return Measurement(name, shown if shown is not None else 0.0, None, q.domain, few)
    return Measurement(name, shown, settings.threshold(threshold_name, q.domain), q.domain, note)


def _confidence(q: DomainQuality, settings: Settings) -> Measurement:
    note = "all confidences NULL" if q.confidence is None else ""
    return _per_domain(
        q,
        settings,
        "confidence",
        q.confidence,
        threshold_name="quality.domain_confidence",
        note=note,
    )


def _missing(q: DomainQuality, settings: Settings) -> Measurement:
    note = "" if q.missing is None else f"{q.missing} of {q.rows} rows without a price"
    return _per_domain(
        q,
        settings,
        "missing_price_rate",
        q.missing_rate,
        threshold_name="quality.missing_price_rate",
        note=note,
    )


def _implausible_note(q: DomainQuality, jump_percent: float) -> str:
    kinds = [
        (q.jumps, f"jump > {jump_percent:g} %"),
        (q.zero, "zero"),
        (q.negative, "negative"),
        (q.currency_changes, "currency change"),
    ]
    found = ", ".join(f"{n} {label}" for n, label in kinds if n)
    note = f"{q.implausible} of {q.priced} prices" + (f" ({found})" if found else "")
    if q.currency_changes is None:
        note += "; currency changes not looked for (no currency column)"
    return note


def _implausible(q: DomainQuality, settings: Settings) -> Measurement:
    if q.implausible is None:
        return Measurement("implausible_prices", None, None, q.domain, "no price column")
    note = _implausible_note(q, settings.quality.price_jump_percent)
    value = q.implausible_rate if q.priced else 0.0
    return _per_domain(
        q,
        settings,
        "implausible_prices",
        value,
        threshold_name="quality.implausible_prices",
        note=note,
    )


def _overdue(q: DomainQuality, settings: Settings) -> Measurement | None:
    if q.urls is None or q.overdue is None:
        return None
    note = (
        f"{q.overdue} of {q.urls} URLs not checked within"
        f" {settings.quality.overdue_factor:g}x their interval"
    )
    threshold = settings.threshold("quality.overdue_urls", q.domain)
    return Measurement("overdue_urls", round(q.overdue_rate or 0.0, 4), threshold, q.domain, note)


def _drift(
    q: DomainQuality,
    settings: Settings,
    name: str,
    *,
    worse: Callable[[float, float], float],
    figure: tuple[float | None, float | None, float | None],
    points: float,
) -> Measurement | None:
    """How many sigmas ``current`` is worse than its mean over the last days (the sigma floored
    so that a change of less than ``points`` stays below the threshold's limit)."""
    current, mean, sd = figure
    if current is None or mean is None or sd is None or q.baseline is None:
        return None
    if q.rows < settings.quality_min_rows:
        return None
    threshold = settings.threshold(f"quality.{name}", q.domain)
    limit = threshold.warn if threshold.warn is not None else threshold.crit or 3.0
    floor = points / limit if limit > 0 else 0.0
    delta = worse(current, mean)
    sigma = max(sd, floor)
    value = _DRIFT_CAP if sigma == 0 else min(_DRIFT_CAP, max(-_DRIFT_CAP, delta / sigma))
    note = (
        f"{current:.3f} against {mean:.3f} ± {sd:.3f} in the same window on"
        f" {q.baseline.days} of the last {settings.quality.drift_days} days"
    )
    return Measurement(name, round(value, 1), threshold, q.domain, note)


def _drifts(q: DomainQuality, settings: Settings) -> list[Measurement]:
    b = q.baseline
    if b is None:
        return []
    found = [
        _drift(
            q,
            settings,
            "confidence_drift",
            worse=lambda now, mean: mean - now,
            figure=(q.confidence, b.confidence_mean, b.confidence_sd),
            points=settings.quality.drift_confidence_points,
        ),
        _drift(
            q,
            settings,
            "missing_drift",
            worse=lambda now, mean: now - mean,
            figure=(q.missing_rate, b.missing_mean, b.missing_sd),
            points=settings.quality.drift_missing_points,
        ),
    ]
    return [m for m in found if m is not None]


def _fmt(value: float | None, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


def _table(found: Sequence[DomainQuality], settings: Settings) -> Table:
    rows = []
    for q in found:
        b = q.baseline
        rows.append(
            (
                q.domain,
                str(q.rows),
                _fmt(q.confidence),
                _fmt(q.missing_rate, ".1%"),
                "-" if q.implausible is None else str(q.implausible),
                "-" if q.overdue is None else f"{q.overdue}/{q.urls}",
                _fmt(b.confidence_mean if b else None),
                _fmt(b.missing_mean if b else None, ".1%"),
            )
        )
    days = settings.quality.drift_days
    return Table(
        (
            "domain",
            "rows",
            "confidence",
            "missing",
            "implausible",
            "overdue",
            f"confidence {days}d",
            f"missing {days}d",
        ),
        tuple(rows),
        "quality by domain",
    )


_REMEDY_CONFIDENCE = (
    "for each red domain: `opslib patterns verify` (do the extractors still find the price?),"
    " `opslib sites changes` (did the site change?), then `opslib patterns generate DOMAIN`,"
    " `opslib patterns test DOMAIN` and `opslib patterns deploy DOMAIN` (runbook Data Quality"
    " Issues)"
)
_REMEDY_MISSING = (
    "for each red domain: `opslib sites changes` (is the price element gone?) and"
    " `opslib patterns verify`; then `opslib patterns generate DOMAIN` and deploy it. A shop"
    " whose products are mostly out of stock is not a fault: raise its limit under"
    ' [domains."DOMAIN".thresholds."quality.missing_price_rate"]'
)
_REMEDY_IMPLAUSIBLE = (
    "for each red domain: compare a page with the stored price (`opslib patterns verify`,"
    " `opslib sites changes`): x100 or /100 is a lost decimal separator, a currency change a"
    " new locale or a geo-redirect; fix with `opslib patterns generate DOMAIN` and deploy it"
)
_REMEDY_ALL = (
    "confidence or prices: `opslib patterns verify`, `opslib sites changes`, then"
    " `opslib patterns generate DOMAIN` (pytest checks/emergency/data_quality);"
    " overdue URLs: the scrapers or the queue (pytest checks/daily)"
)

JudgeFn = Callable[[DomainQuality, Settings], Measurement]


def _window_check(
    db: Database,
    settings: Settings,
    *,
    title: str,
    judge: JudgeFn,
    needs: tuple[str, ...],
    remediation: str,
) -> CheckResult:
    minutes = settings.recent_minutes
    title = f"{title} (last {minutes} min)"
    schema = PlatformSchema.read(db, settings.tables)
    reason = schema.missing("price_history", "url_id", "checked_at", *needs) or schema.missing(
        "monitored_urls", "id", "domain"
    )
    if reason is not None:
        return CheckResult.unknown(SOP, title, reason)
    found = window_quality(db, minutes, settings.quality.price_jump_percent, schema)
    if not found:
        return CheckResult.unknown(
            SOP, title, f"{schema.name('price_history')} has no rows in the last {minutes} min"
        )
    if all(q.rows < settings.quality_min_rows for q in found):
        return CheckResult.unknown(
            SOP,
            title,
            f"no domain has {settings.quality_min_rows} rows or more in the last {minutes} min",
        )
    return CheckResult(
        SOP,
        title,
        tuple(judge(q, settings) for q in found),
        remediation,
        tables=(_table(found, settings),),
    )


def low_confidence_domains(db: Database, settings: Settings) -> CheckResult:
    """Domains whose average extraction confidence over the last ``recent_minutes`` is below
    ``quality.domain_confidence`` (the runbook's 0.8)."""
    return _window_check(
        db,
        settings,
        title="extraction confidence by domain",
        judge=_confidence,
        needs=("extraction_confidence",),
        remediation=_REMEDY_CONFIDENCE,
    )


def missing_price_rates(db: Database, settings: Settings) -> CheckResult:
    """Each domain's share of rows without a price, against ``quality.missing_price_rate``."""
    return _window_check(
        db,
        settings,
        title="missing-price rate by domain",
        judge=_missing,
        needs=("price",),
        remediation=_REMEDY_MISSING,
    )


def implausible_prices(db: Database, settings: Settings) -> CheckResult:
    """Each domain's share of implausible prices (zero, negative, a jump of more than
    ``quality.price_jump_percent`` %, a currency change) against ``quality.implausible_prices``."""
    return _window_check(
        db,
        settings,
        title="implausible prices by domain",
        judge=_implausible,
        needs=("price",),
        remediation=_REMEDY_IMPLAUSIBLE,
    )


def quality_by_domain(db: Database, settings: Settings, minutes: int) -> CheckResult:
    """Every per-domain measure over the last ``minutes``, judged: confidence, missing-price
    rate, implausible prices, overdue URLs, and drift against the last days (WARNING)."""
    schema = PlatformSchema.read(db, settings.tables)
    reason = schema.missing("price_history", "url_id", "checked_at") or schema.missing(
        "monitored_urls", "id", "domain"
    )
    if reason is not None:
        return CheckResult.unknown(SOP, _by_domain_title(minutes), reason)
    found = domain_quality(db, settings, minutes, schema)
    confidence = schema.has("price_history", "extraction_confidence")
    return judge_domains(found, settings, minutes, confidence=confidence)


def judge_domains(
    found: Sequence[DomainQuality], settings: Settings, minutes: int, *, confidence: bool = True
) -> CheckResult:
    """:func:`domain_quality`'s figures judged (``confidence``: the table has the column)."""
    title = _by_domain_title(minutes)
    if not found:
        return CheckResult.unknown(SOP, title, "no domain: no monitored URLs and no rows")
    measurements: list[Measurement] = []
    for q in found:
        if q.rows:
            if confidence:
                measurements.append(_confidence(q, settings))
            if q.priced is not None:
                measurements += [_missing(q, settings), _implausible(q, settings)]
        overdue = _overdue(q, settings)
        if overdue is not None:
            measurements.append(overdue)
        measurements += _drifts(q, settings)
    return CheckResult(
        SOP, title, tuple(measurements), _REMEDY_ALL, tables=(_table(found, settings),)
    )


def _by_domain_title(minutes: int) -> str:
    return f"quality by domain (last {_window(minutes)})"


def _window(minutes: int) -> str:
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"
