"""The platform's own table and column names, from settings; absent pieces as one-line UNKNOWN."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from opslib.adapters import Database
from opslib.config import PlatformTables, Settings, load_settings
from opslib.errors import ConfigError, DependencyError
from opslib.quality import (
    PlatformSchema,
    data_freshness,
    domain_confidence,
    extraction_confidence,
    hourly_stats,
    price_coverage,
)
from opslib.results import CheckResult, Severity
from tests.quality.test_hourly import _fill

Check = Callable[[Database, Settings], CheckResult]
CHECKS: dict[str, Check] = {
    "freshness": data_freshness,
    "coverage": price_coverage,
    "confidence": extraction_confidence,
    "domain_confidence": domain_confidence,
}

# A platform that names everything its own way (a schema, mixed case that needs quoting).
RENAMED = {
    "monitored_urls": {"name": "shop.Urls", "id": "uid", "domain": "site"},
    "price_history": {
        "name": "shop.prices",
        "url_id": "url",
        "price": "amount",
        "extraction_confidence": "conf",
        "checked_at": "seen_at",
    },
}


Answers = dict[str, tuple[Severity, list[tuple[str, str, float | None]]]]


def _answers(db: Database, settings: Settings) -> Answers:
    """Severity and (name, subject, value) of every check; the freshness age only roughly (the
    clock moves between two runs)."""
    found: Answers = {}
    for label, check in CHECKS.items():
        result = check(db, settings)
        assert not result.error, result.message()
        found[label] = (
            result.severity,
            [
                (m.name, m.subject, _rough(m.value) if m.name == "newest_row_age" else m.value)
                for m in result.measurements
            ],
        )
    return found


def _rough(value: float | None) -> float | None:
    return None if value is None else round(value)


def _rename(db: Database) -> None:
    """Move the runbook's tables to the renamed layout (the originals are gone afterwards)."""
    db.execute("CREATE SCHEMA shop")
    db.execute('CREATE TABLE shop."Urls" AS SELECT id AS uid, domain AS site FROM monitored_urls')
    db.execute(
        "CREATE TABLE shop.prices AS SELECT url_id AS url, price AS amount,"
        " extraction_confidence AS conf, checked_at AS seen_at FROM price_history"
    )
    db.execute("DROP TABLE price_history, scrape_logs, monitored_urls")


def test_renamed_tables_and_columns_give_the_runbooks_answers(platform_db: Database) -> None:
    _fill(platform_db, [h for h in range(24) if h != 5])
    _fill(platform_db, [5], priced=0.5)
    _fill(platform_db, [0], domain="beta-shop.test", confidence=0.45)
    runbook = _answers(platform_db, Settings())
    assert runbook["coverage"][0] is Severity.CRITICAL  # something to agree on, not all OK
    assert runbook["domain_confidence"][0] is Severity.CRITICAL
    _rename(platform_db)
    renamed = Settings(tables=RENAMED)
    assert _answers(platform_db, renamed) == runbook
    # ... and the runbook's names now find nothing, saying so in one line.
    gone = price_coverage(platform_db, Settings())
    assert gone.severity is Severity.UNKNOWN
    assert gone.error.startswith("table price_history not found")


@pytest.mark.parametrize("label", sorted(CHECKS))
def test_a_missing_table_is_one_line_naming_the_setting(platform_db: Database, label: str) -> None:
    _fill(platform_db, list(range(24)))
    settings = Settings(tables={"price_history": {"name": "prices"}})
    result = CHECKS[label](platform_db, settings)
    assert result.severity is Severity.UNKNOWN
    assert result.error == (
        "table prices not found (the runbook's price_history): create it, or set"
        " tables.price_history.name to the platform's table"
    )
    assert "\n" not in result.message()


def test_a_missing_column_fails_only_the_checks_that_need_it(platform_db: Database) -> None:
    _fill(platform_db, list(range(24)))
    settings = Settings(tables={"price_history": {"price": "amount"}})
    coverage = price_coverage(platform_db, settings)
    assert coverage.severity is Severity.UNKNOWN
    assert coverage.error == (
        "table price_history has no column amount: set tables.price_history.price to the column"
        " that holds it"
    )
    # Freshness and confidence do not read the price; the hourly table shows it as absent.
    fresh = data_freshness(platform_db, settings)
    assert fresh.severity is Severity.OK, fresh.message()
    assert {row[2] for row in fresh.tables[0].rows} == {"-"}
    assert extraction_confidence(platform_db, settings).severity is Severity.OK
    assert domain_confidence(platform_db, settings).severity is Severity.OK
    missing_domain = Settings(tables={"monitored_urls": {"domain": "shop"}})
    result = domain_confidence(platform_db, missing_domain)
    assert result.error.startswith("table monitored_urls has no column shop: set")


def test_a_missing_table_is_unknown_also_on_a_bare_database(fresh_db: Database) -> None:
    """Nothing migrated at all: no traceback, the line names the table."""
    result = data_freshness(fresh_db, Settings())
    assert result.severity is Severity.UNKNOWN
    assert "tables.price_history.name" in result.error


def test_library_calls_raise_one_line_instead(fresh_db: Database) -> None:
    with pytest.raises(DependencyError, match=r"tables\.price_history\.name"):
        hourly_stats(fresh_db, 24)


def test_schema_reads_each_table_once_with_its_columns(platform_db: Database) -> None:
    schema = PlatformSchema.read(platform_db, PlatformTables())
    columns = schema.columns["price_history"]
    assert columns is not None
    assert {"url_id", "price", "extraction_confidence", "checked_at"} <= columns
    assert schema.has("scrape_logs", "proxy", "outcome")
    assert schema.table("price_history").as_string() == '"price_history"'
    qualified = PlatformSchema.read(platform_db, PlatformTables.model_validate(RENAMED))
    assert qualified.columns["price_history"] is None
    assert qualified.table("monitored_urls").as_string() == '"shop"."Urls"'


@pytest.mark.parametrize(
    ("tables", "problem"),
    [
        ({"price_history": {"name": "prices; DROP TABLE x"}}, "tables.price_history.name"),
        ({"price_history": {"name": "a.b.c"}}, "tables.price_history.name"),
        ({"price_history": {"price": 'price"'}}, "tables.price_history.price"),
        ({"monitored_urls": {"domain": "shop.domain"}}, "tables.monitored_urls.domain"),
        ({"scrape_logs": {"nope": "x"}}, "tables.scrape_logs.nope"),
    ],
)
def test_names_must_be_sql_identifiers(tables: dict[str, dict[str, str]], problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(tables=tables)
    assert caught.value.problems[0].startswith(problem)
