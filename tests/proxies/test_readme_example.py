"""The README's library example runs as written: it leases, fetches and reports for real."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from opslib.adapters import Database
from opslib.config import NO_DATABASE
from opslib.errors import ConfigError
from opslib.proxies import ProxyPool, parse_proxy_url
from tests.dbkit import TestDatabase
from tests.proxies.servers import serving
from tests.support import free_port

README = Path(__file__).resolve().parents[2] / "README.md"
Fetch = Callable[[ProxyPool, str, str], httpx.Response | None]


def _example() -> str:
    section = README.read_text().split("## Using the library", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "README has no python example under 'Using the library'"
    return match[1]


def _run_example(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, dsn: str | None
) -> Iterator[Fetch]:
    """Run the example; yield its ``fetch``, then close the database it opened."""
    monkeypatch.chdir(tmp_path)  # no opslib.toml here
    monkeypatch.delenv("OPSLIB_CONFIG", raising=False)
    if dsn is None:
        monkeypatch.delenv("OPSLIB_DATABASE_DSN", raising=False)
    else:
        monkeypatch.setenv("OPSLIB_DATABASE_DSN", dsn)
    namespace: dict[str, Any] = {}
    exec(compile(_example(), "README.md", "exec"), namespace)
    fetch: Fetch = namespace["fetch"]
    db: Database = namespace["db"]
    with db:
        yield fetch


def test_example_leases_fetches_and_reports(
    platform_db: TestDatabase,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with contextmanager(_run_example)(monkeypatch, tmp_path, platform_db.dsn) as fetch:
        _exercise(fetch, platform_db, capsys)


def _exercise(fetch: Fetch, platform_db: TestDatabase, capsys: pytest.CaptureFixture[str]) -> None:
    pool = ProxyPool(platform_db)
    with serving() as servers:
        port = servers.http_proxy("ok")
        pool.upsert([parse_proxy_url(f"127.0.0.1:{port}", country="de")])
        page = fetch(pool, "127.0.0.1", servers.judge_url)
        assert page is not None
        assert page.status_code == 200
        (proxy,) = pool.proxies()
        assert proxy.requests == 1
        assert proxy.in_use == 0  # reported, so released
        servers.target_status = 403
        refused = fetch(pool, "127.0.0.1", servers.target_url)
        assert refused is not None
        assert refused.status_code == 403
        assert fetch(pool, "127.0.0.1", servers.judge_url) is None  # banned there now
        assert "no proxy:" in capsys.readouterr().out
        pool.upsert([parse_proxy_url(f"127.0.0.1:{free_port()}", country="fr")])
        assert fetch(pool, "127.0.0.1", servers.judge_url) is None  # the dead one failed
        kinds = {(e["url"], e["kind"]) for e in pool.history()}
        assert (f"http://127.0.0.1:{port}", "banned") in kinds
    dead = next(p for p in pool.proxies() if p.country == "fr")
    assert dead.requests == 1
    assert dead.consecutive_failures == 1


def test_example_without_a_database_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with (
        pytest.raises(ConfigError, match="no database configured") as raised,
        contextmanager(_run_example)(monkeypatch, tmp_path, None),
    ):
        pass
    assert str(raised.value) == NO_DATABASE
