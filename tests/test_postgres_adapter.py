from __future__ import annotations

import socket
import time
from typing import Any

import psycopg
import pytest

from opslib.adapters import Database
from opslib.errors import DataError, DependencyError, UnreachableError
from opslib.lab._postgres import PostgresCluster
from tests.late_listener import late_listener
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


def test_connecting_retries_while_the_server_refuses(pg_cluster: PostgresCluster) -> None:
    port = free_port()
    bind = (socket.AF_INET, ("127.0.0.1", port))
    upstream = (socket.AF_INET, ("127.0.0.1", pg_cluster.port))
    with late_listener(bind, upstream, after=0.8) as listening:
        dsn = pg_cluster.dsn.replace(f"port={pg_cluster.port}", f"port={port}")
        with Database(dsn, connect_timeout=5) as db:
            assert db.probe().startswith("15")
        assert listening.is_set()  # the first attempts were refused, a later one got through


def test_refused_for_longer_than_the_connect_timeout_is_unreachable(
    pg_cluster: PostgresCluster,
) -> None:
    port = free_port()
    bind = (socket.AF_INET, ("127.0.0.1", port))
    upstream = (socket.AF_INET, ("127.0.0.1", pg_cluster.port))
    with late_listener(bind, upstream, after=30):
        dsn = pg_cluster.dsn.replace(f"port={pg_cluster.port}", f"port={port}")
        started = time.monotonic()
        with pytest.raises(UnreachableError, match="refused"):
            Database(dsn, connect_timeout=1).probe()
        assert 0.9 < time.monotonic() - started < 4


@pytest.mark.parametrize("wrong", ["password", "database"])
def test_a_wrong_password_or_database_is_not_retried(
    pg_cluster: PostgresCluster, wrong: str
) -> None:
    if wrong == "password":
        dsn = pg_cluster.dsn.replace(pg_cluster.password, "WrongPass987")
    else:
        dsn = pg_cluster.dsn.replace(f"dbname={pg_cluster.database}", "dbname=no_such_db")
    attempts = 0
    real_connect = psycopg.connect

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal attempts
        attempts += 1
        return real_connect(*args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(psycopg, "connect", counting)
        with pytest.raises(UnreachableError, match=r"does not exist|password"):
            Database(dsn, connect_timeout=10).probe()
    assert attempts == 1
