"""Sample pages fetched through the proxy pool (``--via-proxies N``): real HTTP forward proxies
and a shop on 127.0.0.1, the pool and the price history in the real test PostgreSQL. The shop's
host name (shop.test, RFC 6761) resolves nowhere, so only the proxies reach it, as the scrapers
do."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from opslib.cli import main
from opslib.config import Settings
from opslib.proxies import ProxyPool, parse_proxy_url
from tests.dbkit import TestDatabase
from tests.patterns.test_models_and_history import DOMAIN, _history, shop
from tests.proxies.servers import ProxyServers, serving

__all__ = ["shop"]  # the fixture: the lab's changed pages of one shop on 127.0.0.1

SECRET = "s3cret-proxy-pw"


@pytest.fixture
def servers() -> Iterator[ProxyServers]:
    with serving() as started:
        yield started


def test_generate_and_collect_through_the_pool(
    env: TestDatabase,
    shop: tuple[int, list[tuple[str, Decimal | None]]],
    servers: ProxyServers,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    port, pages = shop
    _history(env, port, pages)
    pool = ProxyPool(env, Settings().proxies)
    pool.upsert(
        parse_proxy_url(f"http://scraper:{SECRET}@127.0.0.1:{servers.http_proxy('ok', creds)}")
        for creds in [("scraper", SECRET)] * 2
    )
    priced = sum(p is not None for _, p in pages)

    # directly, the host resolves nowhere: no sample page, one line
    assert main(["patterns", "generate", DOMAIN, "--limit", "3"]) == 2
    direct = capsys.readouterr()
    assert "no sample pages" in direct.err

    assert main(["--json", "patterns", "generate", DOMAIN, "--via-proxies", "2"]) == 0
    fetched = capsys.readouterr()
    proposal = json.loads(fetched.out)
    assert proposal["passed"], proposal
    assert proposal["samples"] == priced
    assert "through 2 pool proxies" in proposal["source"]

    out = tmp_path / "train"
    assert main(["models", "collect", DOMAIN, "--out", str(out), "--via-proxies", "1"]) == 0
    assert len(json.loads((out / "expected.json").read_text())) == priced
    shown = fetched.out + fetched.err + direct.out + direct.err + capsys.readouterr().out
    assert SECRET not in shown

    # no active proxy left: said so, and fetched directly (which cannot reach the shop)
    env.execute("UPDATE opslib.proxies SET state = 'retired'")
    assert main(["patterns", "test", DOMAIN, "--selector", ".x", "--via-proxies", "2"]) == 2
    said = capsys.readouterr()
    assert "no active proxy in the pool" in said.out + said.err
