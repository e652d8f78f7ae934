"""``opslib db partition`` on the test PostgreSQL: price_history partitioned by month while
writers keep inserting; no row lost, indexes and constraints kept, refused the second time."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from opslib.adapters import Database
from opslib.cli import main
from opslib.config import PlatformTables, Settings
from opslib.dbmaintain import apply_partitioning, partition_advice, plan_partitioning
from opslib.errors import DataError, UnsafeActionError
from opslib.results import Severity
from tests.db_maintenance.conftest import PRICES, seed
from tests.dbkit import TestDatabase


class _Writers:
    """Threads inserting one price a statement, each on its own connection, until stopped."""

    def __init__(self, dsn: str, count: int = 3) -> None:
        self.dsn = dsn
        self.stop = threading.Event()
        self.inserted = 0
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(count)]

    def _run(self) -> None:
        with Database(self.dsn) as db:
            while not self.stop.is_set():
                try:
                    db.execute(
                        "INSERT INTO price_history (url_id, price, currency,"
                        " extraction_confidence) VALUES (1, 9.99, 'EUR', 0.9)"
                    )
                except Exception as exc:
                    self.errors.append(str(exc))
                    continue
                with self.lock:
                    self.inserted += 1

    def __enter__(self) -> _Writers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(10)


def _kind(db: TestDatabase, name: str) -> str | None:
    row = db.fetch_one("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", (name,))
    return None if row is None else str(row["relkind"])


def test_partition_online_with_writers(platform_db: TestDatabase) -> None:
    seed(platform_db)
    small = Settings.model_validate({"thresholds": {"db.partition_size": {"warn": 0.0001}}})
    assert "opslib db partition --dry-run" in partition_advice(platform_db, small).message()
    old_first = datetime.now(UTC) - timedelta(days=70)
    platform_db.execute("UPDATE price_history SET checked_at = %s WHERE id %% 10 = 0", (old_first,))
    tables = PlatformTables()
    plan = replace(plan_partitioning(platform_db, tables), batch_rows=2000)
    assert plan.refused == ""
    assert plan.rows == PRICES
    assert {n for n, _ in plan.indexes} == {
        "price_history_checked_at_idx",
        "price_history_url_checked_idx",
    }
    assert len(plan.partitions) >= 6  # three months back, three ahead, and the default
    with _Writers(platform_db.dsn) as writers:
        time.sleep(0.5)
        result = apply_partitioning(platform_db, plan)
        time.sleep(0.5)
    assert writers.errors == []
    assert writers.inserted > 0
    assert _kind(platform_db, "price_history") == "p"
    assert _kind(platform_db, "price_history_unpartitioned") == "r"
    row = platform_db.fetch_one("SELECT count(*) AS n FROM price_history")
    assert row is not None
    assert row["n"] == PRICES + writers.inserted  # every row written during the move is there
    assert result.copied + result.caught_up == PRICES + writers.inserted - _after_swap(platform_db)
    # the indexes, the key and the foreign key of the platform, on the new table
    indexes = {
        r["indexname"]
        for r in platform_db.fetch_all(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'price_history'"
        )
    }
    assert {"price_history_checked_at_idx", "price_history_url_checked_idx"} <= indexes
    constraints = {
        r["contype"]
        for r in platform_db.fetch_all(
            "SELECT contype FROM pg_constraint WHERE conrelid = 'price_history'::regclass"
        )
    }
    assert {"p", "f", "c"} <= constraints
    with pytest.raises(DataError):  # the foreign key holds
        platform_db.execute("INSERT INTO price_history (url_id, price) VALUES (999999, 1)")
    # rows land in their month's partition; ids keep coming from the same sequence
    row = platform_db.fetch_one(
        "SELECT tableoid::regclass::text AS part FROM price_history WHERE checked_at = %s LIMIT 1",
        (old_first,),
    )
    assert row is not None
    assert row["part"] == f"price_history_p{old_first:%Y%m}"
    platform_db.execute("DROP TABLE price_history_unpartitioned")  # the sequence survives
    platform_db.execute("INSERT INTO price_history (url_id, price) VALUES (1, 5)")

    small = Settings.model_validate({"thresholds": {"db.partition_size": {"warn": 0.0001}}})
    advice = partition_advice(platform_db, small)
    assert advice.severity is Severity.OK
    assert "already partitioned" in advice.message()

    again = plan_partitioning(platform_db, tables)
    assert again.refused == "price_history is already partitioned"
    with pytest.raises(UnsafeActionError, match="already partitioned"):
        apply_partitioning(platform_db, again)


def _after_swap(db: TestDatabase) -> int:
    """Rows the writers put straight into the new table, after the swap."""
    row = db.fetch_one(
        "SELECT count(*) AS n FROM price_history p WHERE NOT EXISTS"
        " (SELECT 1 FROM price_history_unpartitioned o WHERE o.id = p.id)"
    )
    return int(row["n"]) if row else 0


def test_command_dry_run_then_refusal(
    env: TestDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(env, prices=500)
    assert main(["--json", "db", "partition", "--dry-run"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["dry_run"] is True
    assert shown["partitions"][-1]["name"] == "price_history_default"
    assert _kind(env, "price_history") == "r"  # nothing changed
    assert main(["db", "partition", "--batch-rows", "100"]) == 0
    assert "DROP TABLE price_history_unpartitioned" in capsys.readouterr().out
    assert _kind(env, "price_history") == "p"
    assert main(["db", "partition"]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "already partitioned" in err[0]
    rows = env.fetch_all(
        "SELECT dry_run, outcome FROM opslib.audit_log WHERE action = 'db.partition' ORDER BY id"
    )
    assert [(r["dry_run"], r["outcome"]) for r in rows] == [
        (True, "ok"),
        (False, "ok"),
        (False, "refused"),
    ]
