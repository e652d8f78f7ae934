"""The checks of the deploy gate: before (``maintenance.pre_deploy``) and after
(``maintenance.post_deploy``) a deploy, as CheckResults."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from psycopg import sql

from opslib.adapters import Database
from opslib.backups import verified_recency
from opslib.config import Settings
from opslib.errors import OpsError
from opslib.gate._baseline import (
    Baseline,
    BaselineFile,
    error_figures,
    quality_figures,
    running_containers,
)
from opslib.gate._compare import Comparison, compare
from opslib.health import ContainerSource, MetricQuery, service_status
from opslib.maintenance import MaintenanceMode
from opslib.quality import PlatformSchema, domain_stats
from opslib.results import CheckResult, Measurement, Table, Threshold

__all__ = [
    "POST_SOP",
    "PRE_SOP",
    "baseline_saved",
    "baseline_status",
    "confidence_not_worse",
    "coverage_not_worse",
    "data_flowing",
    "errors_not_worse",
    "maintenance_off",
    "services_up",
    "verified_backup_recent",
]

PRE_SOP = "maintenance.pre_deploy"
"""The SOP id of the checks before a deploy."""
POST_SOP = "maintenance.post_deploy"
"""The SOP id of the post-deploy gate."""

_FLAG = Threshold(warn=0.5)  # a 0/1 measurement: 1 is worth a warning
_DEFAULT_FLOW_SECONDS = 300.0


def verified_backup_recent(
    db: Database, settings: Settings, now: datetime | None = None
) -> CheckResult:
    """The newest backup proven by a restore, from the monthly primitive, held to the tighter
    ``gate.verified_backup_age`` (days: crit 7): a deploy needs a rollback point known to
    restore."""
    result = verified_recency(db, settings, now)
    title = "a recently verified backup to roll back to"
    if result.error:
        return CheckResult.unknown(PRE_SOP, title, result.error)
    limit = settings.threshold("gate.verified_backup_age")
    return CheckResult(
        PRE_SOP,
        title,
        tuple(Measurement(m.name, m.value, limit, m.subject, m.note) for m in result.measurements),
        remediation=result.remediation,
    )


def maintenance_off(db: Database, settings: Settings, sop: str = POST_SOP) -> CheckResult:
    """No maintenance window is open (``gate.open_windows``, crit above 0): before a deploy,
    none left by another; after it, the deploy's own was closed."""
    title = "maintenance mode is off"
    try:
        found = db.fetch_one("SELECT to_regclass('opslib.maintenance_windows') IS NOT NULL AS ok")
        if not found or not found["ok"]:
            missing = "opslib's schema has no maintenance_windows table: run opslib db migrate"
            return CheckResult.unknown(sop, title, missing)
        status = MaintenanceMode(db, settings.maintenance).status()
    except OpsError as exc:
        return CheckResult.unknown(sop, title, str(exc))
    windows = status.windows
    note = "; ".join(
        f"{w.scope.describe()}: {w.reason!r} by {w.actor} since {w.started_at:%Y-%m-%d %H:%M %Z}"
        + (" (stuck: past its expected end)" if w.stuck(status.now) else "")
        for w in windows
    )
    return CheckResult(
        sop,
        title,
        (
            Measurement(
                "open_windows", len(windows), settings.threshold("gate.open_windows"), "", note
            ),
        ),
        remediation=(
            "when the maintenance is over: `opslib maintenance off`; before a deploy, wait for"
            " the other maintenance to end"
        ),
    )


def baseline_saved(baseline: Baseline, path: str) -> CheckResult:
    """The baseline written for the post gate: OK with every part measured, WARNING naming the
    parts that were not (the post gate judges those on absolute thresholds alone), UNKNOWN when
    nothing was."""
    title = f"baseline for the post-deploy gate saved to {path}"
    if not baseline.parts:
        reasons = "; ".join(f"{k}: {v}" for k, v in baseline.unmeasured.items())
        return CheckResult.unknown(PRE_SOP, title, f"nothing could be measured ({reasons})")
    measurements = [
        Measurement("parts_measured", len(baseline.parts), note=", ".join(baseline.parts))
    ]
    for part, reason in baseline.unmeasured.items():
        measurements.append(Measurement("not_measured", 1, _FLAG, part, reason))
    rows = []
    if baseline.errors is not None:
        e = baseline.errors
        rows.append(("error rate", f"{e.rate} errors/s over {e.window}"))
        if e.ratio is not None:
            rows.append(("error share", f"{e.ratio:.2%}"))
    if baseline.quality is not None:
        q = baseline.quality
        rows.append(("extraction confidence", f"{q.confidence} (last {q.minutes} min)"))
        rows.append(("price coverage", "-" if q.coverage is None else f"{q.coverage:.1%}"))
        rows.append(("domains delivering", str(len(q.domain_rows))))
    if baseline.running is not None:
        rows.append(
            ("running containers", ", ".join(f"{s} {n}" for s, n in baseline.running.items()))
        )
    if baseline.processing_rate is not None:
        rows.append(("processing rate", f"{baseline.processing_rate} items/s"))
    return CheckResult(
        PRE_SOP,
        title,
        tuple(measurements),
        remediation="the parts not measured have their own red checks above: fix those first",
        tables=(Table(("figure", "before the deploy"), tuple(rows), "baseline"),),
    )


def baseline_status(
    file: BaselineFile, settings: Settings, now: datetime | None = None
) -> CheckResult:
    """The baseline the post gate compares with and its age (``gate.baseline_age``); without
    one, a WARNING saying so in one line: the gate then judges absolute thresholds."""
    title = "baseline from before the deploy"
    if file.error:
        return CheckResult.unknown(POST_SOP, title, file.error)
    baseline = file.usable
    if baseline is None:
        note = f"{file.missing}: judged against absolute thresholds"
        return CheckResult(POST_SOP, title, (Measurement("no_baseline", 1, _FLAG, "", note),))
    at = now or datetime.now(UTC)
    age = round((at - baseline.captured_at).total_seconds() / 3600, 2)
    note = f"captured {baseline.captured_at:%Y-%m-%d %H:%M %Z} into {file.path}"
    if baseline.unmeasured:
        note += "; not measured then: " + ", ".join(baseline.unmeasured)
    return CheckResult(
        POST_SOP,
        title,
        (Measurement("baseline_age", age, settings.threshold("gate.baseline_age"), "", note),),
        remediation="run the pre-deploy checks right before each deploy (they write the baseline)",
    )


def _judged(
    title: str,
    comparisons: Sequence[Comparison],
    file: BaselineFile,
    remediation: str,
) -> CheckResult:
    if not comparisons:
        return CheckResult.unknown(POST_SOP, title, "nothing to compare: no figure measured now")
    measurements = tuple(m for c in comparisons for m in c.measurements)
    if file.usable is None:
        title += f" ({file.missing}: absolute thresholds only)"
    rows = tuple(
        (
            c.subject or "overall",
            c.figure,
            "-" if c.before is None else f"{c.before:g}",
            "-" if c.now is None else f"{c.now:g}",
            "-" if c.change is None else f"{c.change:+g} {c.tolerance.unit if c.tolerance else ''}",
            c.severity.name + (" (already red before)" if c.already_red else ""),
        )
        for c in comparisons
    )
    table = Table(
        ("subject", "figure", "before", "now", "worse by", "verdict"),
        rows,
        "before and after the deploy",
    )
    return CheckResult(POST_SOP, title, measurements, remediation, tables=(table,))


def errors_not_worse(
    prometheus: MetricQuery, settings: Settings, file: BaselineFile
) -> CheckResult:
    """Error rate and share, overall and per domain, not worse than the baseline beyond
    ``gate.error_ratio_rise`` (``gate.error_rate_rise`` without a requests counter) and not
    newly over ``health.error_ratio`` / ``health.error_rate``."""
    title = f"error rate not worse than before the deploy (over {settings.error_window})"
    if file.error:
        return CheckResult.unknown(POST_SOP, title, file.error)
    try:
        figures = error_figures(prometheus, settings)
    except OpsError as exc:
        return CheckResult.unknown(POST_SOP, title, str(exc))
    now = Baseline(captured_at=datetime.now(UTC), platform="", errors=figures)
    found = compare(file.usable, now, settings.threshold)
    return _judged(
        title,
        found,
        file,
        "the deploy raised errors: read the scraper logs for the domains named, roll back or"
        " fix forward (runbook High Error Rate response)",
    )


def _quality_check(
    db: Database, settings: Settings, file: BaselineFile, title: str, figures: frozenset[str]
) -> CheckResult:
    if file.error:
        return CheckResult.unknown(POST_SOP, title, file.error)
    try:
        quality = quality_figures(db, settings)
    except OpsError as exc:
        return CheckResult.unknown(POST_SOP, title, str(exc))
    now = Baseline(captured_at=datetime.now(UTC), platform="", quality=quality)
    found = [c for c in compare(file.usable, now, settings.threshold) if c.figure in figures]
    return _judged(
        title,
        found,
        file,
        "the deploy changed extraction: verify the extractors and patterns of the domains named,"
        " roll back or fix forward (runbook Data Quality Issues)",
    )


def confidence_not_worse(db: Database, settings: Settings, file: BaselineFile) -> CheckResult:
    """Average extraction confidence, overall and per domain, not lower than the baseline
    beyond ``gate.confidence_drop`` and not newly under ``quality.avg_confidence`` /
    ``quality.domain_confidence``."""
    minutes = settings.recent_minutes
    title = f"extraction confidence not worse than before the deploy (last {minutes} min)"
    return _quality_check(db, settings, file, title, frozenset({"avg_confidence", "confidence"}))


def coverage_not_worse(db: Database, settings: Settings, file: BaselineFile) -> CheckResult:
    """Price coverage not lower than the baseline beyond ``gate.coverage_drop`` and not newly
    under ``quality.price_coverage``."""
    title = f"price coverage not worse than before the deploy (last {settings.recent_minutes} min)"
    return _quality_check(db, settings, file, title, frozenset({"price_coverage"}))


def services_up(platform: ContainerSource, settings: Settings, file: BaselineFile) -> CheckResult:
    """Every expected service running (the daily ``service_status``), and no service running
    fewer containers than before the deploy (``gate.containers_lost``, warn above 0)."""
    result = service_status(platform, settings)
    result = CheckResult(
        POST_SOP,
        f"every expected service is up after the deploy ({settings.compose_project!r})",
        result.measurements,
        result.remediation,
        tables=result.tables,
    )
    baseline = file.usable
    if baseline is None or baseline.running is None:
        return result
    now = running_containers(platform)
    lost = []
    for service, before in baseline.running.items():
        after = now.get(service, 0)
        if service in settings.oneshot_services:
            continue
        lost.append(
            Measurement(
                "containers_lost",
                max(0, before - after),
                settings.threshold("gate.containers_lost"),
                service,
                f"{before} running before the deploy, {after} now",
            )
        )
    return CheckResult(
        result.sop,
        result.title,
        result.measurements + tuple(lost),
        result.remediation,
        tables=result.tables,
    )


_FLOW_SQL = sql.SQL("""
SELECT mu.{domain} AS domain, count(*) AS rows, min(ph.{checked_at}) AS first
FROM {price_history} ph
JOIN {monitored_urls} mu ON ph.{url_id} = mu.{id}
WHERE ph.{checked_at} > %(since)s
GROUP BY 1
""")


def _expected_domains(
    db: Database, settings: Settings, file: BaselineFile, schema: PlatformSchema
) -> tuple[list[str], str]:
    baseline = file.usable
    if baseline is not None and baseline.quality is not None and baseline.quality.domain_rows:
        return sorted(baseline.quality.domain_rows), "the domains that delivered before the deploy"
    hours = settings.quality_hours
    stats = domain_stats(db, hours * 60, schema)
    return sorted(s.domain for s in stats), f"the domains that delivered in the last {hours} h"


def data_flowing(
    db: Database,
    settings: Settings,
    file: BaselineFile,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    interval: float = 2.0,
) -> CheckResult:
    """New ``price_history`` rows from every expected domain (those in the baseline, else those
    of the last ``quality_hours``) after the check began: it waits for each domain's first new
    row up to the ``gate.data_flow`` limit (seconds: warn 60, crit 300; per domain
    overridable), so what it sees was written after the deploy."""
    title = "data flows from every expected domain after the deploy"
    try:
        schema = PlatformSchema.read(db, settings.tables)
        reason = schema.missing("price_history", "url_id", "checked_at") or schema.missing(
            "monitored_urls", "id", "domain"
        )
        if reason is not None:
            return CheckResult.unknown(POST_SOP, title, reason)
        domains, which = _expected_domains(db, settings, file, schema)
        if not domains:
            return CheckResult.unknown(POST_SOP, title, f"no expected domain: {which} are none")
        limits = {d: settings.threshold("gate.data_flow", d) for d in domains}
        wait = max(t.crit or t.warn or _DEFAULT_FLOW_SECONDS for t in limits.values())
        query = _FLOW_SQL.format(
            domain=schema.column("monitored_urls", "domain"),
            checked_at=schema.column("price_history", "checked_at"),
            price_history=schema.table("price_history"),
            monitored_urls=schema.table("monitored_urls"),
            url_id=schema.column("price_history", "url_id"),
            id=schema.column("monitored_urls", "id"),
        )
        start_row = db.fetch_one("SELECT now() AS now")
        assert start_row is not None
        since: datetime = start_row["now"]
        began = clock()
        seen: dict[str, tuple[int, datetime]] = {}
        while True:
            for row in db.fetch_all(query, {"since": since}):
                seen[str(row["domain"])] = (int(row["rows"]), row["first"])
            waited = clock() - began
            if all(d in seen for d in domains) or waited >= wait:
                break
            sleep(min(interval, max(0.0, wait - waited)))
    except OpsError as exc:
        return CheckResult.unknown(POST_SOP, title, str(exc))
    measurements = []
    rows = []
    for domain in domains:
        if domain in seen:
            count, first = seen[domain]
            after = round(max((first - since) / timedelta(seconds=1), 0.0), 1)
            note = f"{count} new row(s)"
            rows.append((domain, str(count), f"{after:g} s"))
        else:
            after = math.inf  # never, as far as the check waited
            note = f"no new row within {waited:.0f} s"
            rows.append((domain, "0", "-"))
        measurements.append(Measurement("seconds_to_new_row", after, limits[domain], domain, note))
    return CheckResult(
        POST_SOP,
        f"{title} ({which})",
        tuple(measurements),
        remediation=(
            "scrapers are not writing for the domains named: check `docker-compose ps`, the"
            " scraper logs and maintenance mode (`opslib maintenance status`); roll back if the"
            " deploy broke them"
        ),
        tables=(Table(("domain", "new rows", "first new row after"), tuple(rows), "data flow"),),
    )
