"""PatternStore on the real test PostgreSQL: versions, one active per domain, rollback, the
scrapers' cached read, reference pages stored compressed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from opslib.errors import ConfigError, UnsafeActionError
from opslib.extraction import Pattern, PatternStore
from tests.dbkit import TestDatabase


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_versions_one_active_and_rollback(platform_db: TestDatabase) -> None:
    store = PatternStore(platform_db, cache_seconds=0)
    v1 = store.deploy("Shop.TEST", Pattern(".price"), tested_accuracy=1.0, tested_pages=20)
    v2 = store.deploy("shop.test", Pattern(".row", regex=r"(\d+)"), note="new layout")
    assert (v1.version, v2.version) == (1, 2)
    versions = store.versions("shop.test")
    assert [(v.version, v.active) for v in versions] == [(2, True), (1, False)]
    assert versions[0].pattern.regex == r"(\d+)"
    assert versions[1].tested_accuracy == 1.0
    assert store.active("shop.test") == Pattern(".row", regex=r"(\d+)")
    assert store.rollback("shop.test") == (2, 1)
    assert store.active("shop.test") == Pattern(".price")
    assert store.rollback("shop.test", to=2) == (1, 2)
    assert store.rollback("shop.test") == (2, 1)
    assert store.rollback("shop.test") == (1, None)  # the first version: no pattern left
    assert store.active("shop.test") is None
    assert len(store.versions("shop.test")) == 2  # earlier versions are kept
    with pytest.raises(UnsafeActionError, match="--to"):
        store.rollback("shop.test")
    with pytest.raises(UnsafeActionError, match="no pattern version 7"):
        store.rollback("shop.test", to=7)
    with pytest.raises(UnsafeActionError, match="no extraction pattern"):
        store.rollback("other.test")
    n = platform_db.fetch_one("SELECT count(*) AS n FROM opslib.extraction_patterns WHERE active")
    assert n is not None
    assert n["n"] == 0


def test_active_is_cached_like_maintenance_mode(platform_db: TestDatabase) -> None:
    clock = Clock()
    reader = PatternStore(platform_db, cache_seconds=30, clock=clock)
    operator = PatternStore(platform_db, cache_seconds=0)
    assert reader.active("shop.test") is None
    operator.deploy("shop.test", Pattern(".price"))
    assert reader.active("shop.test") is None  # from memory
    clock.now = 31
    assert reader.active("shop.test") == Pattern(".price")
    assert reader.active("SHOP.test.") == Pattern(".price")
    platform_db.execute("DROP TABLE opslib.extraction_patterns CASCADE")
    clock.now = 62
    assert reader.active("shop.test") == Pattern(".price")  # unreadable: the last ones read
    assert reader.unreachable is not None


def test_reference_pages_compressed_and_replaced(platform_db: TestDatabase) -> None:
    store = PatternStore(platform_db)
    page = "<html><body>" + "<p>filler</p>" * 2000 + '<b class="p">9.99</b></body></html>'
    assert store.add_reference("shop.test", "a.html", page, Decimal("9.99"), "eur") is False
    assert store.add_reference("shop.test", "a.html", page, Decimal("8.99")) is True
    store.add_reference("shop.test", "b.html", b"<html>gone</html>", None)
    refs = store.references("shop.test")
    assert [(r.name, r.price) for r in refs] == [("a.html", Decimal("8.99")), ("b.html", None)]
    assert refs[0].html == page.encode()
    row = platform_db.fetch_one(
        "SELECT length(page_gz) AS n FROM opslib.reference_pages WHERE name = 'a.html'"
    )
    assert row is not None
    assert row["n"] < len(page) / 20
    assert store.reference_counts() == {"shop.test": 2}
    assert store.remove_references("shop.test", ["b.html"]) == 1
    with pytest.raises(ConfigError, match="empty"):
        store.add_reference("shop.test", "c.html", "  ", None)
    with pytest.raises(ConfigError, match="not a domain"):
        store.add_reference("a shop", "c.html", "<p>1</p>", None)
