"""The weekly.db_maintenance checks on the real test PostgreSQL: red on what they judge, green
once ``opslib db maintain`` (or the index statement) mended it."""

from __future__ import annotations

from opslib.config import PlatformTables, Settings
from opslib.dbmaintain import (
    apply_maintenance,
    index_health,
    maintenance_age,
    partition_advice,
    plan_maintenance,
    table_bloat,
    xid_age,
)
from opslib.results import Severity
from tests.dbkit import TestDatabase


def _flush(db: TestDatabase) -> None:
    db.execute("SELECT pg_stat_force_next_flush()")


def test_never_maintained_is_red_until_maintained(seeded: TestDatabase) -> None:
    settings = Settings()
    result = maintenance_age(seeded, settings)
    assert result.severity is Severity.CRITICAL, result.message()
    assert "vacuum_age[price_history] = inf days" in result.message()
    assert "next: opslib db maintain" in result.message()
    apply_maintenance(seeded, plan_maintenance(seeded, settings.tables), settings.tables)
    healed = maintenance_age(seeded, settings)
    # ANALYZE alone leaves the two small tables never vacuumed: autovacuum does them; here off.
    by_subject = {(m.name, m.subject): m for m in healed.measurements}
    assert by_subject[("vacuum_age", "price_history")].severity is Severity.OK
    assert all(m.severity is Severity.OK for m in healed.measurements if m.name == "analyze_age")
    seeded.execute("VACUUM monitored_urls, scrape_logs")
    assert maintenance_age(seeded, settings).severity is Severity.OK


def test_bloat_red_then_green_after_vacuum(seeded: TestDatabase) -> None:
    settings = Settings()
    seeded.execute("ANALYZE price_history")
    seeded.execute("DELETE FROM price_history WHERE id % 4 <> 0")
    _flush(seeded)
    seeded.execute("ANALYZE price_history")
    result = table_bloat(seeded, settings)
    bloat = next(m for m in result.measurements if m.subject == "price_history")
    assert bloat.severity is Severity.CRITICAL, result.message()
    assert bloat.value is not None
    assert bloat.value > 0.6
    # Not given back to the disk by VACUUM, but refilled by the next inserts: a VACUUM FULL here
    # stands for the repack the remediation names.
    seeded.execute("VACUUM FULL price_history")
    seeded.execute("ANALYZE price_history")
    healed = table_bloat(seeded, settings)
    assert healed.severity is Severity.OK, healed.message()


def test_index_health_names_unused_and_duplicate(seeded: TestDatabase) -> None:
    settings = Settings()
    seeded.execute("ANALYZE price_history")
    assert index_health(seeded, settings).severity is Severity.OK
    seeded.execute("CREATE INDEX ph_currency_idx ON price_history (currency)")
    seeded.execute("CREATE INDEX ph_checked_copy ON price_history (checked_at)")
    _flush(seeded)
    result = index_health(seeded, settings)
    assert result.severity is Severity.CRITICAL
    counts = {m.name: m.value for m in result.measurements}
    assert counts == {"invalid_indexes": 0, "unused_indexes": 1, "duplicate_indexes": 1}, counts
    # The copy of (checked_at) serves a platform filter: a duplicate, not unused.
    statements = {row[3] for row in result.tables[0].rows}
    assert 'DROP INDEX CONCURRENTLY "public"."ph_currency_idx"' in statements
    assert 'DROP INDEX CONCURRENTLY "public"."ph_checked_copy"' in statements
    seeded.execute("DROP INDEX ph_currency_idx")
    seeded.execute("DROP INDEX ph_checked_copy")
    assert index_health(seeded, settings).severity is Severity.OK


def test_xid_age_and_partitioning(seeded: TestDatabase) -> None:
    settings = Settings()
    xid = xid_age(seeded, settings)
    assert xid.severity is Severity.OK
    assert len(xid.measurements) == 3
    assert partition_advice(seeded, settings).severity is Severity.OK
    small = Settings.model_validate({"thresholds": {"db.partition_size": {"warn": 0.0001}}})
    advice = partition_advice(seeded, small)
    assert advice.severity is Severity.WARNING
    assert "partition by RANGE (checked_at)" in advice.message()


def test_no_platform_table_is_unknown(seeded: TestDatabase) -> None:
    tables = PlatformTables.model_validate(
        {k: {"name": f"absent_{k}"} for k in ("monitored_urls", "price_history", "scrape_logs")}
    )
    settings = Settings(tables=tables)
    for check in (maintenance_age, table_bloat, xid_age, partition_advice):
        result = check(seeded, settings)
        assert result.severity is Severity.UNKNOWN
        assert "none of the platform tables (absent_monitored_urls" in result.message()
