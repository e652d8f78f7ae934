from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from opslib.audit import AuditLog
from opslib.cli import main
from opslib.errors import DataError
from opslib.migrations import applied, available, migrate, pending
from tests.dbkit import TestDatabase


def test_shipped_migrations_are_numbered_from_one_without_gaps() -> None:
    for migration_set in ("opslib", "platform"):
        versions = [m.version for m in available(migration_set)]
        assert versions == list(range(1, len(versions) + 1))


def test_migrate_applies_once_and_records_checksums(fresh_db: TestDatabase) -> None:
    first = migrate(fresh_db, ("opslib", "platform"))
    assert {m.set for m in first} == {"opslib", "platform"}
    assert migrate(fresh_db, ("opslib", "platform")) == []
    assert pending(fresh_db, "platform") == []
    assert set(applied(fresh_db, "opslib")) == {m.version for m in available("opslib")}
    tables = {
        r["t"]
        for r in fresh_db.fetch_all(
            "SELECT table_schema || '.' || table_name AS t FROM information_schema.tables"
        )
    }
    assert {
        "opslib.audit_log",
        "public.monitored_urls",
        "public.price_history",
        "public.scrape_logs",
    } <= tables


def test_platform_set_only_when_asked(fresh_db: TestDatabase) -> None:
    migrate(fresh_db, ("opslib",))
    assert fresh_db.fetch_one("SELECT to_regclass('public.price_history') AS t") == {"t": None}


def test_changed_applied_migration_is_refused(fresh_db: TestDatabase) -> None:
    migrate(fresh_db, ("opslib",))
    fresh_db.execute("UPDATE opslib.schema_migrations SET checksum = 'x' WHERE version = 1")
    with pytest.raises(DataError, match="changed after it was applied"):
        pending(fresh_db, "opslib")


def test_concurrent_runners_do_not_race(fresh_db: TestDatabase) -> None:
    """Four real processes migrate the same empty database at once; each migration lands once."""
    env = {**os.environ, "OPSLIB_DATABASE_DSN": fresh_db.dsn, "OPSLIB_CONFIG": os.devnull}
    env.pop("OPSLIB_CONFIG")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "opslib.cli", "db", "migrate", "--platform"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outputs
    applied_counts = sorted(int(out.split()[1]) for out, _ in outputs)
    total = len(available("opslib")) + len(available("platform"))
    assert applied_counts == [0, 0, 0, total]
    rows = fresh_db.fetch_all(
        "SELECT migration_set, version, count(*) AS n FROM opslib.schema_migrations GROUP BY 1, 2"
    )
    assert all(r["n"] == 1 for r in rows)
    assert len(rows) == total


def test_dry_run_applies_nothing_and_is_audited_once_the_schema_exists(
    fresh_db: TestDatabase, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPSLIB_CONFIG", raising=False)
    monkeypatch.setenv("OPSLIB_DATABASE_DSN", fresh_db.dsn)
    assert main(["db", "migrate", "--dry-run"]) == 0
    assert applied(fresh_db, "opslib") == {}  # nothing applied, no audit table created
    migrate(fresh_db, ("opslib",))
    assert main(["db", "migrate", "--platform", "--dry-run"]) == 0
    [entry] = AuditLog(fresh_db).recent(5, action="db.migrate")
    assert (entry.dry_run, entry.outcome) == (True, "ok")
    assert entry.detail == f"would apply {len(available('platform'))}"
    assert pending(fresh_db, "platform") == available("platform")
