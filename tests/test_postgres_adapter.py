from __future__ import annotations

import time

import pytest

from opslib.adapters import Database
from opslib.errors import DataError, DependencyError, UnreachableError
from opslib.lab._postgres import PostgresCluster
from tests.support import free_port


def test_probe_and_queries(db: Database) -> None:
    assert db.probe().startswith("15")
    assert db.fetch_one("SELECT %s::int + 1 AS n", (41,)) == {"n": 42}
    assert db.fetch_all("SELECT 1 AS a WHERE false") == []


def test_closed_port_is_unreachable_quickly_and_password_not_in_message() -> None:
    dsn = f"host=127.0.0.1 port={free_port()} dbname=x user=u password=NotShown123"
    started = time.monotonic()
    with pytest.raises(UnreachableError) as info:
        Database(dsn, connect_timeout=2).probe()
    assert time.monotonic() - started < 5
    assert "NotShown123" not in str(info.value)
    assert "NotShown123" not in repr(Database(dsn))


def test_wrong_password_is_unreachable_without_leaking_it(pg_cluster: PostgresCluster) -> None:
    dsn = pg_cluster.dsn.replace(pg_cluster.password, "WrongPass987")
    with pytest.raises(UnreachableError) as info:
        Database(dsn).probe()
    assert "WrongPass987" not in str(info.value)
    assert "password authentication failed" in str(info.value)


def test_statement_timeout_bounds_a_slow_query(pg_cluster: PostgresCluster) -> None:
    with Database(pg_cluster.dsn, statement_timeout=0.3) as slow:
        started = time.monotonic()
        with pytest.raises(DependencyError, match="statement timeout"):
            slow.fetch_all("SELECT pg_sleep(5)")
        assert time.monotonic() - started < 3


def test_errors_translated(db: Database) -> None:
    with pytest.raises(DataError):
        db.fetch_one("SELECT 1 / 0")
    with pytest.raises(DependencyError, match="does not exist"):
        db.fetch_all("SELECT * FROM no_such_table")


def test_transaction_rolls_back_on_error(db: Database) -> None:
    db.execute("CREATE TEMP TABLE t (n int)")
    with pytest.raises(RuntimeError), db.transaction():
        db.execute("INSERT INTO t VALUES (1)")
        raise RuntimeError("boom")
    assert db.fetch_one("SELECT count(*) AS n FROM t") == {"n": 0}
