"""weekly.performance_review: this week against the previous one, from the database and
Prometheus, and the domains and services that got worse, ranked as areas for optimisation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from opslib.adapters import Database
from opslib.config import Settings
from opslib.errors import OpsError
from opslib.quality import PlatformSchema
from opslib.results import Chart, CheckResult, Measurement, Series, Severity, Table, Threshold
from opslib.review._database import (
    OVERALL,
    DailyFigures,
    WeekFigures,
    daily_figures,
    week_figures,
)
from opslib.review._prometheus import (
    InstantQuery,
    WeekOnWeek,
    prometheus_history,
    prometheus_trends,
)

__all__ = ["Area", "DomainChange", "ReviewReport", "areas_table", "performance_review"]

SOP = "weekly.performance_review"
_NOISE = 0.5  # a change under half its warning limit is not an area for optimisation
_DOMAIN_REMEDY = (
    "work down the areas for optimisation: `opslib sites verify DOMAIN` (is the shop slow or "
    "blocking us?), `opslib proxies rotate` (slow or banned proxies), `opslib ratelimit set "
    "DOMAIN` (back off a shop that rate-limits us)"
)
_LOAD_REMEDY = (
    "fewer prices delivered or a growing queue: `opslib scale scraper N`, and check the daily "
    "performance checks (`pytest checks/daily -k performance`)"
)


@dataclass(frozen=True)
class DomainChange:
    """One domain (or all domains) this week and the week before."""

    domain: str
    this_week: WeekFigures | None
    previous: WeekFigures | None

    @property
    def latency_rise(self) -> float | None:
        """p95 this week relative to last week's (0.5 is 50 % slower)."""
        now = self.this_week.p95_ms if self.this_week else None
        before = self.previous.p95_ms if self.previous else None
        if now is None or not before:
            return None
        return now / before - 1

    @property
    def success_drop(self) -> float | None:
        """Success rate lost since last week, in percentage points."""
        now = self.this_week.success_rate if self.this_week else None
        before = self.previous.success_rate if self.previous else None
        if now is None or before is None:
            return None
        return (before - now) * 100


@dataclass(frozen=True)
class Area:
    """A domain or service that got worse: how much worse against its warning limit
    (``score`` 1.0 is at the limit) and the evidence."""

    kind: str
    subject: str
    score: float
    severity: Severity
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class ReviewReport:
    """What ``opslib review weekly`` shows and ``checks/weekly`` judges."""

    end: datetime
    domains: tuple[DomainChange, ...]
    daily: tuple[DailyFigures, ...]
    trends: tuple[WeekOnWeek, ...]
    notes: tuple[str, ...]
    areas: tuple[Area, ...] = ()
    results: tuple[CheckResult, ...] = field(default=())


def performance_review(
    db: Database,
    settings: Settings,
    *,
    prometheus: InstantQuery | None = None,
    now: datetime | None = None,
) -> ReviewReport:
    """This week (the 7 days before ``now``) against the 7 before: response time p50/p95 and
    success rate by domain and requests and prices per day (database); queue, throughput and
    per-service CPU and memory (Prometheus, when it holds two weeks)."""
    end = now or datetime.now(UTC)
    schema = PlatformSchema.read(db, settings.tables)
    notes: list[str] = []
    domains: tuple[DomainChange, ...] = ()
    daily: tuple[DailyFigures, ...] = ()
    missing = schema.missing("scrape_logs", "started_at")
    if missing is None:
        this, before, note = week_figures(db, schema, end)
        notes += [note] if note else []
        names = sorted(this.keys() | before.keys(), key=lambda d: (d != OVERALL, d))
        domains = tuple(DomainChange(d, this.get(d), before.get(d)) for d in names)
        daily = tuple(daily_figures(db, schema, end))
    else:
        notes.append(f"response times and success rates not measured: {missing}")
    trends: list[WeekOnWeek] = []
    prom_problem = "no Prometheus configured" if prometheus is None else None
    if prometheus is not None:
        try:
            prom_problem = prometheus_history(prometheus, end)
            if prom_problem is None:
                trends, prom_notes = prometheus_trends(prometheus, settings, end)
                notes += prom_notes
        except OpsError as exc:
            prom_problem = str(exc)
    report = ReviewReport(end, domains, daily, tuple(trends), tuple(notes))
    results = (
        _domain_result(report, settings, missing),
        _throughput_result(report, settings, missing),
        _prometheus_result(report, settings, prom_problem),
    )
    report = replace(report, results=results)
    return replace(report, areas=_areas(report))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _domain_result(report: ReviewReport, settings: Settings, missing: str | None) -> CheckResult:
    title = "response times and success rate by domain, week on week"
    if missing is not None:
        return CheckResult.unknown(SOP, title, missing)
    overall = next((d for d in report.domains if d.domain == OVERALL), None)
    if overall is None or overall.previous is None or overall.this_week is None:
        return CheckResult.unknown(
            SOP,
            title,
            "scrape_logs has no rows in one of the two weeks: the week-on-week comparison needs"
            " 14 days of history",
        )
    measurements = []
    for change in report.domains:
        subject = "" if change.domain == OVERALL else change.domain
        domain = subject or None
        rise, drop = change.latency_rise, change.success_drop
        if change.previous is None or change.this_week is None:
            # A domain added or dropped: nothing to compare (the data-flow checks judge a
            # domain that stopped delivering).
            note = "no requests " + ("this week" if change.this_week is None else "last week")
            count = change.this_week.requests if change.this_week else 0
            measurements.append(Measurement("requests", count, Threshold(), subject, note))
            continue
        if change.this_week.p95_ms is not None and rise is not None:
            measurements.append(
                Measurement(
                    "latency_rise",
                    None if rise is None else round(rise, 4),
                    settings.threshold("review.latency_rise", domain),
                    subject,
                    f"p95 {_ms(change.this_week.p95_ms)} ms, was {_ms(change.previous.p95_ms)}",
                )
            )
        if change.this_week.success_rate is not None and drop is not None:
            measurements.append(
                Measurement(
                    "success_drop",
                    None if drop is None else round(drop, 2),
                    settings.threshold("review.success_drop", domain),
                    subject,
                    f"success {_pct(change.this_week.success_rate)},"
                    f" was {_pct(change.previous.success_rate)}",
                )
            )
    rows = tuple(
        (
            d.domain,
            str(d.this_week.requests if d.this_week else 0),
            str(d.previous.requests if d.previous else 0),
            _ms(d.this_week.p50_ms if d.this_week else None),
            _ms(d.this_week.p95_ms if d.this_week else None),
            _ms(d.previous.p95_ms if d.previous else None),
            _pct(d.this_week.success_rate if d.this_week else None),
            _pct(d.previous.success_rate if d.previous else None),
        )
        for d in report.domains
    )
    table = Table(
        (
            "domain",
            "requests",
            "requests before",
            "p50 ms",
            "p95 ms",
            "p95 ms before",
            "success",
            "success before",
        ),
        rows,
        "this week against the previous one",
    )
    return CheckResult(
        SOP,
        title,
        tuple(measurements),
        _DOMAIN_REMEDY,
        tables=(table,),
        charts=_daily_charts(report.daily),
    )


def _daily_charts(daily: Sequence[DailyFigures]) -> tuple[Chart, ...]:
    labels = [d.day.isoformat() for d in daily]
    charts = [
        Chart(
            "p95 response time per day",
            (Series("p95", tuple(zip(labels, (d.p95_ms for d in daily), strict=True))),),
            "ms",
        ),
        Chart(
            "success rate per day",
            (
                Series(
                    "success %",
                    tuple(
                        zip(
                            labels,
                            (
                                None if d.success_rate is None else d.success_rate * 100
                                for d in daily
                            ),
                            strict=True,
                        )
                    ),
                ),
            ),
            "%",
        ),
        Chart(
            "requests and prices per day",
            (
                Series(
                    "requests", tuple(zip(labels, (float(d.requests) for d in daily), strict=True))
                ),
                Series(
                    "prices",
                    tuple(
                        zip(
                            labels,
                            (None if d.prices is None else float(d.prices) for d in daily),
                            strict=True,
                        )
                    ),
                ),
            ),
            "per day",
            kind="bar",
        ),
    ]
    return tuple(charts)


def _week_sums(
    daily: Sequence[DailyFigures], end: datetime
) -> tuple[list[DailyFigures], list[DailyFigures]]:
    mid = (end.astimezone(UTC)).date().toordinal() - 7
    this = [d for d in daily if d.day.toordinal() >= mid]
    before = [d for d in daily if d.day.toordinal() < mid]
    return this, before


def _throughput_result(
    report: ReviewReport, settings: Settings, missing: str | None
) -> CheckResult:
    title = "throughput week on week: requests made and prices delivered"
    if missing is not None:
        return CheckResult.unknown(SOP, title, missing)
    this, before = _week_sums(report.daily, report.end)
    if not this or not before:
        return CheckResult.unknown(
            SOP, title, "scrape_logs has no rows in one of the two weeks: 14 days of history needed"
        )
    threshold = settings.threshold("review.throughput_drop")
    measurements = []
    for name, values_now, values_before in (
        ("requests", [d.requests for d in this], [d.requests for d in before]),
        ("prices", [d.prices or 0 for d in this], [d.prices or 0 for d in before]),
    ):
        now, was = sum(values_now) / len(values_now), sum(values_before) / len(values_before)
        if name == "prices" and all(d.prices is None for d in report.daily):
            continue
        drop = None if not was else round(1 - now / was, 4)
        measurements.append(
            Measurement(
                "throughput_drop", drop, threshold, name, f"{now:,.0f}/day, was {was:,.0f}/day"
            )
        )
    return CheckResult(SOP, title, tuple(measurements), _LOAD_REMEDY)


def _prometheus_result(
    report: ReviewReport, settings: Settings, problem: str | None
) -> CheckResult:
    title = "queue, throughput and resources per service (Prometheus), week on week"
    if problem is not None:
        return CheckResult.unknown(SOP, title, problem)
    measurements = []
    for f in report.trends:
        change = f.change
        if change is None and f.name != "queue_size":
            continue  # new this week, gone, or zero before: in the table, nothing to judge
        shown = f"{_value(f.this_week, f.unit)}, was {_value(f.previous, f.unit)}"
        if f.name == "processed_per_day":
            drop = None if change is None else round(-change, 4)
            measurements.append(
                Measurement(
                    "throughput_drop",
                    drop,
                    settings.threshold("review.throughput_drop"),
                    "processed",
                    shown,
                )
            )
        elif f.name == "p95_ms":
            measurements.append(
                Measurement(
                    "latency_rise",
                    None if change is None else round(change, 4),
                    settings.threshold("review.latency_rise"),
                    "fetch histogram",
                    f"p95 {shown}",
                )
            )
        elif f.name == "p50_ms":
            continue  # shown in the table; p95 is the judged one
        elif f.name == "queue_size":
            measurements.append(
                Measurement(
                    "queue_size",
                    None if f.this_week is None else round(f.this_week, 2),
                    Threshold(unit=f.unit),
                    "7-day average",
                    shown,
                )
            )
        else:
            what = "cpu" if f.name == "cpu_cores" else "memory"
            measurements.append(
                Measurement(
                    f"{what}_rise",
                    None if change is None else round(change, 4),
                    settings.threshold("review.resource_rise"),
                    f.subject,
                    shown,
                )
            )
    if not any(f.name in ("cpu_cores", "memory_bytes") for f in report.trends):
        note = next((n for n in report.notes if n.startswith("cpu_cores")), "no container series")
        measurements.append(
            Measurement(
                "services_compared",
                0,
                Threshold(),
                note=f"resource trends per service not measured: {note}",
            )
        )
    table = Table(
        ("figure", "subject", "this week", "last week", "change", "PromQL"),
        tuple(
            (
                f.name,
                f.subject or "-",
                _value(f.this_week, f.unit),
                _value(f.previous, f.unit),
                _pct(f.change),
                f.promql,
            )
            for f in report.trends
        ),
        "Prometheus, 7-day windows",
    )
    return CheckResult(SOP, title, tuple(measurements), _LOAD_REMEDY, tables=(table,))


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "bytes":
        return f"{value / 2**20:,.1f} MiB"
    return f"{value:,.3g} {unit}" if abs(value) < 100 else f"{value:,.0f} {unit}"


def _areas(report: ReviewReport) -> tuple[Area, ...]:
    """Every domain and service with a figure that got worse by at least half its warning
    limit, worst severity first, then by how far past that limit; the evidence is each such
    figure."""
    found: dict[tuple[str, str], list[tuple[float, Severity, str]]] = {}
    for result in report.results:
        for m in result.measurements:
            if (
                m.value is None
                or m.threshold is None
                or m.value <= 0
                or m.name == "services_compared"
            ):
                continue
            limit = m.threshold.warn or m.threshold.crit
            score = m.value / limit if limit else 0.0
            if score < _NOISE:
                continue
            kind = "service" if m.name in ("cpu_rise", "memory_rise") else "domain"
            subject = m.subject or ("all domains" if kind == "domain" else "-")
            found.setdefault((kind, subject), []).append((score, m.severity, m.describe()))
    areas = [
        Area(
            kind,
            subject,
            max(s for s, _, _ in items),
            max((sev for _, sev, _ in items), key=lambda v: v.rank),
            tuple(text for _, _, text in sorted(items, key=lambda i: -i[0])),
        )
        for (kind, subject), items in found.items()
    ]
    return tuple(sorted(areas, key=lambda a: (-a.severity.rank, -a.score, a.subject)))


def areas_table(report: ReviewReport) -> Table:
    """The areas for optimisation, worst first."""
    return Table(
        ("rank", "area", "severity", "evidence"),
        tuple(
            (str(n), f"{a.kind} {a.subject}", a.severity.name, "; ".join(a.evidence))
            for n, a in enumerate(report.areas, 1)
        ),
        "areas for optimisation",
    )
