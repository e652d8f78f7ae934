"""Conditional requests against the lab's shop server on 127.0.0.1: a page carries an ETag and a
Last-Modified; If-None-Match or If-Modified-Since of the version held answers 304 with no
body, an older date or another ETag the page; the worker's held page sends both validators."""

from __future__ import annotations

import email.utils
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from opslib.lab import LabSettings
from opslib.lab._catalog import catalog
from opslib.lab._control import Control, ControlFile
from opslib.lab._shop import ShopServer
from opslib.lab._worker import HeldPage
from tests.support import free_port


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[ShopServer, str, dict[str, str]]]:
    """The shop, a product page's URL and the Host header of its domain."""
    settings = LabSettings.for_tests(tmp_path, free_port())
    control = ControlFile(tmp_path / "control.json")
    control.write(Control(domains={}, proxies={}))  # no latency, no errors
    server = ShopServer(settings, control)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        product = catalog(settings)[0]
        yield (server, f"http://127.0.0.1:{settings.shop_port}/product/{product.n}",
               {"Host": product.domain})  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_if_modified_since_and_if_none_match(
    shop: tuple[ShopServer, str, dict[str, str]],
) -> None:
    _server, url, host = shop
    with httpx.Client(timeout=5) as client:
        first = client.get(url, headers=host)
        assert first.status_code == 200
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        at = email.utils.parsedate_to_datetime(modified).timestamp()

        def get(**headers: str) -> httpx.Response:
            return client.get(url, headers={**host, **headers})

        same = get(**{"If-Modified-Since": modified})
        assert (same.status_code, same.content) == (304, b"")
        assert same.headers["last-modified"] == modified
        later = get(**{"If-Modified-Since": email.utils.formatdate(at + 60, usegmt=True)})
        assert later.status_code == 304
        older = get(**{"If-Modified-Since": email.utils.formatdate(at - 1, usegmt=True)})
        assert older.status_code == 200
        assert older.content == first.content
        assert get(**{"If-Modified-Since": "yesterday"}).status_code == 200  # ignored
        assert get(**{"If-None-Match": etag}).status_code == 304
        # If-None-Match decides when both are sent: another version's ETag gets the page.
        both = get(**{"If-None-Match": '"other"', "If-Modified-Since": modified})
        assert both.status_code == 200

        held = HeldPage(etag="", last_modified=modified, extraction=None)
        assert held.conditions() == {"If-Modified-Since": modified}
        assert get(**held.conditions()).status_code == 304
        both_held = HeldPage(etag=etag, last_modified=modified, extraction=None).conditions()
        assert both_held == {"If-None-Match": etag, "If-Modified-Since": modified}
        assert get(**both_held).status_code == 304
        assert HeldPage("", "", None).conditions() == {}


def test_a_new_version_is_modified_later_than_the_one_before(
    shop: tuple[ShopServer, str, dict[str, str]],
) -> None:
    server = shop[0]
    first = server.modified("a-shop.test", "/product/1", '"v1"')
    assert server.modified("a-shop.test", "/product/1", '"v1"') == first
    second = server.modified("a-shop.test", "/product/1", '"v2"')  # within the same second
    assert second > first
    assert server.modified("a-shop.test", "/product/2", '"v1"') <= second
