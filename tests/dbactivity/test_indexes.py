"""Index advice on crafted tables, and --apply creating the missing index concurrently."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from opslib.audit import AuditLog
from opslib.config import Settings
from opslib.dbactivity import advise_indexes, apply_index, index_name
from tests.dbkit import TestDatabase

ROWS = 20_000


def _flush(db: TestDatabase) -> None:
    db.execute("SELECT pg_stat_force_next_flush()")


def _big(db: TestDatabase) -> None:
    db.execute("CREATE TABLE big (id int PRIMARY KEY, a int, b int)")
    db.execute("INSERT INTO big SELECT g, g %% 100, g %% 7 FROM generate_series(1, %s) g", (ROWS,))
    _flush(db)
    db.execute("ANALYZE big")
    db.execute("CREATE INDEX big_a_idx ON big (a)")
    db.execute("CREATE INDEX big_a_copy ON big (a)")
    for _ in range(3):
        db.fetch_all("SELECT count(*) FROM big WHERE b = 5")
    _flush(db)


def test_advice_on_a_crafted_table(platform_db: TestDatabase) -> None:
    _big(platform_db)
    advice = advise_indexes(platform_db)
    by_kind = {(a.kind, a.table, a.index) for a in advice}
    seq = next(a for a in advice if a.kind == "seq_scans")
    # Three queries, and the two index builds each read the table once.
    assert seq.table == "public.big", seq
    assert re.match(r"[3-9] sequential scans read \d+ rows each of 20000 \(0 index scans\)",
                    seq.detail), seq.detail  # fmt: skip
    assert ("duplicate", "public.big", "big_a_copy") in by_kind
    assert ("unused", "public.big", "big_a_idx") in by_kind
    # Small tables and the indexes the platform's filters need are never called unused.
    assert not any(a.kind == "unused" and a.table != "public.big" for a in advice), advice
    assert not any(a.applicable for a in advice)  # the platform tables have their indexes
    dup = next(a for a in advice if a.kind == "duplicate")
    assert dup.statement == 'DROP INDEX CONCURRENTLY "public"."big_a_copy"'


def test_missing_platform_index_under_configured_names(platform_db: TestDatabase) -> None:
    platform_db.execute("CREATE SCHEMA shop")
    platform_db.execute('CREATE TABLE shop."Prices" (u bigint, seen timestamptz, amount numeric)')
    settings = Settings(
        tables={"price_history": {"name": "shop.Prices", "url_id": "u", "checked_at": "seen"}}
    )
    advice = [a for a in advise_indexes(platform_db, settings.tables) if a.applicable]
    assert [(a.table, a.columns) for a in advice] == [
        ("shop.Prices", ("u", "seen")),
        ("shop.Prices", ("seen",)),
    ]
    first = advice[0]
    assert first.index == "prices_u_seen_idx"
    assert first.statement == (
        'CREATE INDEX CONCURRENTLY "prices_u_seen_idx" ON "shop"."Prices" ("u", "seen")'
    )
    assert (
        apply_index(platform_db, first)
        == "created index prices_u_seen_idx on shop.Prices (u, seen)"
    )
    row = platform_db.fetch_one(
        "SELECT i.indisvalid AS valid, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i"
        " WHERE i.indexrelid = 'shop.prices_u_seen_idx'::regclass"
    )
    assert row == {
        "valid": True,
        "def": 'CREATE INDEX prices_u_seen_idx ON shop."Prices" USING btree (u, seen)',
    }
    left = [a for a in advise_indexes(platform_db, settings.tables) if a.applicable]
    assert [a.columns for a in left] == [("seen",)]


def test_index_names_are_safe() -> None:
    assert (
        index_name("price_history", ("url_id", "checked_at"))
        == "price_history_url_id_checked_at_idx"
    )
    assert index_name("s.We ird-Name", ('a"; DROP', "b")) == "we_ird_name_a_drop_b_idx"
    long = index_name("t" * 60, ("column_with_a_long_name", "another"))
    assert len(long) == 63
    assert long.startswith("t" * 54)
    assert index_name("t", ("a",), frozenset({"t_a_idx"})) == "t_a_idx_2"
    assert index_name("9t", ("a",)) == "i_9t_a_idx"


def test_apply_command(platform_db: TestDatabase) -> None:
    platform_db.execute("DROP INDEX price_history_url_checked_idx")
    platform_db.execute("CREATE EXTENSION pg_stat_statements")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSLIB_")}
    env["OPSLIB_DATABASE_DSN"] = platform_db.dsn

    def opslib(*argv: str) -> subprocess.CompletedProcess[str]:
        argv = (sys.executable, "-m", "opslib.cli", "db", "slow-queries", *argv)
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60,
                              check=False)  # fmt: skip

    shown = opslib()
    assert shown.returncode == 1, shown.stdout + shown.stderr  # db.missing_indexes: a warning
    statement = (
        'CREATE INDEX CONCURRENTLY "price_history_url_id_checked_at_idx" ON "price_history"'
        ' ("url_id", "checked_at")'
    )
    assert statement in shown.stdout
    assert "`opslib db slow-queries --apply` creates 1 missing index(es)" in shown.stdout
    dry = opslib("--apply", "--dry-run")
    assert dry.returncode == 1, dry.stdout + dry.stderr
    assert f"would run: {statement}" in dry.stdout, dry.stdout + dry.stderr
    assert platform_db.fetch_one(
        "SELECT to_regclass('price_history_url_id_checked_at_idx') AS i"
    ) == {"i": None}

    applied = opslib("--apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "created index price_history_url_id_checked_at_idx" in applied.stdout
    valid = platform_db.fetch_one(
        "SELECT indisvalid FROM pg_index"
        " WHERE indexrelid = to_regclass('price_history_url_id_checked_at_idx')"
    )
    assert valid == {"indisvalid": True}
    audit = [(e.dry_run, e.outcome) for e in AuditLog(platform_db).recent(5, "db.create_index")]
    assert audit == [(False, "ok"), (True, "ok")]
