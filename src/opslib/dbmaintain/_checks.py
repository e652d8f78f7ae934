"""weekly.db_maintenance: vacuum and analyze ages, bloat, transaction ID age, index health and
partitioning advice for the configured platform tables."""

from __future__ import annotations

import math
from typing import LiteralString

from opslib.adapters import Database
from opslib.config import Settings
from opslib.dbactivity import advise_indexes
from opslib.dbmaintain._stats import TableStats, read_stats, stats_table
from opslib.results import CheckResult, Measurement, Table

__all__ = [
    "SOP",
    "index_health",
    "maintenance_age",
    "partition_advice",
    "table_bloat",
    "xid_age",
]

SOP = "weekly.db_maintenance"
"""The SOP id of the runbook's weekly database maintenance."""

_MAINTAIN = "opslib db maintain"
_INVALID: LiteralString = """
SELECT n.nspname::text AS schema, t.relname::text AS table_name, c.relname::text AS name
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE NOT i.indisvalid AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1, 2, 3
"""


def _present(
    db: Database, settings: Settings, title: str
) -> tuple[tuple[TableStats, ...], CheckResult | None]:
    stats = tuple(s for s in read_stats(db, settings.tables) if s.exists)
    if not stats:
        names = ", ".join(
            getattr(settings.tables, k).name
            for k in ("monitored_urls", "price_history", "scrape_logs")
        )
        reason = f"none of the platform tables ({names}) exists: set [tables] to the platform's"
        return stats, CheckResult.unknown(SOP, title, reason)
    return stats, None


def maintenance_age(db: Database, settings: Settings) -> CheckResult:
    """Days since each platform table was last vacuumed and analysed, manually or by autovacuum
    (thresholds ``db.vacuum_age`` and ``db.analyze_age``); never, with rows, is infinite."""
    title = "platform tables vacuumed and analysed recently"
    stats, unknown = _present(db, settings, title)
    if unknown:
        return unknown
    measurements = []
    for s in stats:
        for name, at in (("vacuum_age", s.vacuumed), ("analyze_age", s.analyzed)):
            age = s.age_days(at)
            note = ""
            if age is None:
                age, note = (math.inf, "never") if s.heap_bytes else (0.0, "empty, never")
            measurements.append(
                Measurement(name, round(age, 2), settings.threshold(f"db.{name}"), s.name, note)
            )
    return CheckResult(
        SOP, title, tuple(measurements), remediation=_MAINTAIN, tables=(stats_table(stats),)
    )


def table_bloat(db: Database, settings: Settings) -> CheckResult:
    """Estimated bloat of each platform table (threshold ``db.bloat``): pgstattuple_approx's dead
    and free space when the extension is installed, else an estimate from pg_stats' row widths;
    a heap under 1 MiB is shown, not judged."""
    title = "platform tables without bloat"
    stats, unknown = _present(db, settings, title)
    if unknown:
        return unknown
    threshold = settings.threshold("db.bloat")
    measurements = []
    for s in stats:
        if s.partitioned:
            continue
        judged = s.bloat_judged
        note = s.bloat_method if judged else f"{s.bloat_method}; under 1 MiB, not judged"
        if s.bloat is None:
            if not judged:  # small and never analysed: nothing to say
                continue
            note = "no statistics yet: run opslib db maintain"
        value = None if s.bloat is None else round(s.bloat, 3)
        measurements.append(
            Measurement("bloat", value, threshold if judged else None, s.name, note)
        )
    remediation = (
        f"{_MAINTAIN} (VACUUM makes the space reusable; to give it back to the disk, pg_repack"
        " or VACUUM FULL in a maintenance window)"
    )
    return CheckResult(
        SOP, title, tuple(measurements), remediation=remediation, tables=(stats_table(stats),)
    )


def xid_age(db: Database, settings: Settings) -> CheckResult:
    """Transaction ID age of each platform table (``age(relfrozenxid)``) as a share of
    ``autovacuum_freeze_max_age`` (threshold ``db.xid_age``): near 1 an anti-wraparound
    autovacuum starts; far past it the server stops taking writes."""
    title = "transaction ID age far from wraparound"
    stats, unknown = _present(db, settings, title)
    if unknown:
        return unknown
    measurements = tuple(
        Measurement(
            "xid_age",
            round(s.xid_share, 4),
            settings.threshold("db.xid_age"),
            s.name,
            f"{s.xid_age} of {s.freeze_max_age}",
        )
        for s in stats
        if not s.partitioned
    )
    remediation = f"{_MAINTAIN} (then VACUUM (FREEZE) the oldest table if it stays high)"
    return CheckResult(SOP, title, measurements, remediation=remediation)


def index_health(db: Database, settings: Settings) -> CheckResult:
    """Invalid and duplicate indexes (``db.bad_indexes``) and unused ones (``db.unused_indexes``,
    a warning: an index nothing scanned since the statistics were reset may serve a rare query): the
    runbook's ``pg_stat_user_indexes`` query, judged; unused and duplicate from
    :func:`opslib.dbactivity.advise_indexes`."""
    title = "indexes valid, used and distinct"
    invalid = db.fetch_all(_INVALID)
    advice = advise_indexes(db, settings.tables)
    unused = [a for a in advice if a.kind == "unused"]
    duplicate = [a for a in advice if a.kind == "duplicate"]
    threshold = settings.threshold("db.bad_indexes")
    rows = [
        (
            f"{r['schema']}.{r['table_name']}",
            r["name"],
            "invalid",
            f"REINDEX INDEX CONCURRENTLY {r['schema']}.{r['name']}",
        )
        for r in invalid
    ]
    rows += [(a.table, a.index, a.kind, a.statement) for a in (*unused, *duplicate)]

    def names(items: list[str]) -> str:
        return ", ".join(items[:5]) + (f" and {len(items) - 5} more" if len(items) > 5 else "")

    measurements = (
        Measurement(
            "invalid_indexes",
            len(invalid),
            threshold,
            note=names([str(r["name"]) for r in invalid]),
        ),
        Measurement(
            "unused_indexes",
            len(unused),
            settings.threshold("db.unused_indexes"),
            note=names([a.index for a in unused]),
        ),
        Measurement(
            "duplicate_indexes", len(duplicate), threshold, note=names([a.index for a in duplicate])
        ),
    )
    return CheckResult(
        SOP,
        title,
        measurements,
        remediation=(
            "opslib db slow-queries (index advice); run the statement the table names for each"
        ),
        tables=(Table(("table", "index", "problem", "statement"), tuple(rows), "indexes"),)
        if rows
        else (),
    )


def partition_advice(db: Database, settings: Settings) -> CheckResult:
    """``price_history``'s size, tables and indexes, against ``db.partition_size`` (GiB): past
    it, partition by range of ``checked_at`` (a partitioned table is OK)."""
    title = "price_history size below the partitioning point"
    stats, unknown = _present(db, settings, title)
    if unknown:
        return unknown
    ph = [s for s in stats if s.key == "price_history"]
    if not ph:
        return CheckResult.unknown(
            SOP,
            title,
            f"table {settings.tables.price_history.name} not found: set tables.price_history.name",
        )
    s = ph[0]
    column = settings.tables.price_history.checked_at
    if s.partitioned:
        measurement = Measurement("price_history_gib", 0.0, None, s.name, "already partitioned")
    else:
        measurement = Measurement(
            "price_history_gib",
            round((s.table_bytes + s.index_bytes) / 2**30, 3),
            settings.threshold("db.partition_size"),
            s.name,
            f"partition by RANGE ({column}), a partition a month, old ones detached or dropped",
        )
    return CheckResult(
        SOP,
        title,
        (measurement,),
        remediation=(
            f"opslib db partition --dry-run, then opslib db partition: {s.name} by RANGE"
            f" ({column}) online (a partitioned copy filled in batches while writes go on, names"
            " swapped in one short transaction)"
        ),
    )
