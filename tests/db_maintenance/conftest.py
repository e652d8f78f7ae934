"""Platform tables with rows for the maintenance tests, and a role that owns none of them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from psycopg import sql

from opslib.lab._postgres import PostgresCluster
from tests.dbkit import TestDatabase

URLS = 50
PRICES = 20_000


def seed(db: TestDatabase, prices: int = PRICES) -> None:
    """Rows in the three platform tables, statistics flushed, nothing vacuumed or analysed."""
    db.execute(
        "INSERT INTO monitored_urls (domain, url) SELECT 'shop' || (g %% 3) || '.test',"
        " 'https://shop.test/p/' || g FROM generate_series(1, %s) g",
        (URLS,),
    )
    db.execute(
        "INSERT INTO price_history (url_id, price, currency, extraction_confidence, checked_at)"
        " SELECT 1 + g %% %s, 10 + g %% 90, 'EUR', 0.9, now() - g * interval '1 minute'"
        " FROM generate_series(1, %s) g",
        (URLS, prices),
    )
    db.execute(
        "INSERT INTO scrape_logs (url_id, domain, outcome, duration_ms)"
        " SELECT 1 + g %% %s, 'shop.test', 'ok', 100 FROM generate_series(1, 500) g",
        (URLS,),
    )
    db.execute("SELECT pg_stat_force_next_flush()")


@pytest.fixture
def seeded(platform_db: TestDatabase) -> TestDatabase:
    """A platform database whose tables have rows and were never maintained by hand."""
    # Autovacuum must not maintain the tables under the test's feet.
    for table in ("monitored_urls", "price_history", "scrape_logs"):
        platform_db.execute(
            sql.SQL("ALTER TABLE {} SET (autovacuum_enabled = false)").format(sql.Identifier(table))
        )
    seed(platform_db)
    return platform_db


@pytest.fixture
def plain_dsn(pg_cluster: PostgresCluster, seeded: TestDatabase) -> Iterator[str]:
    """The DSN of a login role that is not a superuser and owns none of the platform tables."""
    role = f"plain_{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    ident = sql.Identifier(role)
    seeded.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(ident, sql.Literal(password)))
    seeded.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(ident))
    dsn = seeded.dsn.replace(f"user={pg_cluster.user}", f"user={role}").replace(
        f"password={pg_cluster.password}", f"password={password}"
    )
    try:
        yield dsn
    finally:
        seeded.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,)
        )
        seeded.execute(sql.SQL("DROP OWNED BY {}").format(ident))
        seeded.execute(sql.SQL("DROP ROLE {}").format(ident))
