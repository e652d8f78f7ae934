"""Which page of each site is fetched: parse_site and site_targets on a real database."""

from __future__ import annotations

import pytest

from opslib.config import MonitoredUrlsTable, PlatformTables
from opslib.errors import DependencyError, InputError
from opslib.sites import SiteTarget, parse_site, site_targets
from tests.dbkit import TestDatabase


def test_parse_site() -> None:
    assert parse_site("Shop.Example.") == SiteTarget("shop.example", "https://shop.example/")
    assert parse_site("http://a.test:8080/p?x=1") == SiteTarget(
        "a.test:8080", "http://a.test:8080/p?x=1"
    )
    assert parse_site("https://a.test:443/") == SiteTarget("a.test", "https://a.test:443/")
    assert parse_site("http://[::1]:8080/").domain == "[::1]:8080"
    for bad in ("not a domain", "ftp://a.test/", "http://u:pw@a.test/", "http://[::1/", "-x.test"):
        with pytest.raises(InputError):
            parse_site(bad)


def test_site_targets_sample_a_monitored_url_per_domain(platform_db: TestDatabase) -> None:
    platform_db.execute(
        "INSERT INTO monitored_urls (id, domain, url) VALUES"
        " (3, 'a.test', 'http://a.test/product/3'), (1, 'a.test', 'http://a.test/product/1'),"
        " (2, 'B.test', 'http://b.test/product/2')"
    )
    tables = PlatformTables()
    assert site_targets(platform_db, tables) == [
        SiteTarget("a.test", "http://a.test/product/1"),
        SiteTarget("b.test", "http://b.test/product/2"),
    ]
    assert site_targets(platform_db, tables, ["b.test", "new.test", "http://a.test/x"]) == [
        SiteTarget("b.test", "http://b.test/product/2"),
        SiteTarget("new.test", "https://new.test/"),
        SiteTarget("a.test", "http://a.test/x"),
    ]
    assert site_targets(None, tables, ["a.test"]) == [SiteTarget("a.test", "https://a.test/")]
    renamed = PlatformTables(monitored_urls=MonitoredUrlsTable(url="link"))
    with pytest.raises(DependencyError, match=r"no column link: set tables\.monitored_urls\.url"):
        site_targets(platform_db, renamed)
