"""``opslib sites verify``: exit status by the worst verdict, JSON, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opslib.cli import main
from opslib.proxies import Proxy, ProxyPool
from tests.dbkit import TestDatabase
from tests.proxies.servers import ProxyServers
from tests.sites.servers import Answer, site
from tests.support import free_port


def _config(workdir: Path, dsn: str | None = None) -> None:
    lines = [f'database_dsn = "{dsn}"'] if dsn else []
    lines += ["[timeouts]", "http = 2", "[sites]", 'resolve = { "*.test" = "127.0.0.1" }']
    (workdir / "opslib.toml").write_text("\n".join(lines) + "\n")


def test_verify_the_monitored_domains(
    platform_db: TestDatabase,
    workdir: Path,
    proxy_servers: ProxyServers,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _config(workdir, platform_db.dsn)
    ProxyPool(platform_db).upsert(
        [Proxy(scheme="http", host="127.0.0.1", port=proxy_servers.http_proxy())]
    )
    with site() as (good, _), site(Answer(503, b"down")) as (bad, _):
        platform_db.execute(
            "INSERT INTO monitored_urls (domain, url) VALUES (%s, %s), (%s, %s)",
            ("good.test", f"http://good.test:{good}/product/1",
             "bad.test", f"http://bad.test:{bad}/product/9"),
        )  # fmt: skip
        code = main(["sites", "verify", "--json"])
        out, _err = capsys.readouterr()
        report = json.loads(out)
        assert code == 2
        verdicts = {s["domain"]: s for s in report["sites"]}
        assert verdicts["good.test"]["verdict"] == "up"
        assert verdicts["good.test"]["url"] == f"http://good.test:{good}/product/1"
        assert len(report["proxies"]) == 1
        vias = [p["via"] for p in verdicts["good.test"]["probes"]]
        assert vias == [None, report["proxies"][0]]
        assert verdicts["bad.test"]["verdict"] == "down"
        assert verdicts["bad.test"]["action"] == "opslib domains cooldown bad.test --for 30m"
        assert main(["sites", "verify", "good.test", "--direct-only"]) == 0
        out, _err = capsys.readouterr()
        assert "good.test  up" in out
        assert main(["sites", "verify", "bad.test", "--via-proxies", "0"]) == 2
        out, _err = capsys.readouterr()
        assert "bad.test: down: HTTP 503" in out


def test_bad_input_and_no_database(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _config(workdir)
    assert main(["sites", "verify", "not a domain"]) == 2
    _out, err = capsys.readouterr()
    assert err.strip() == (
        "opslib: error: not a domain name: 'not a domain' (e.g. shop.example or a URL)"
    )
    assert main(["sites", "verify"]) == 2
    _out, err = capsys.readouterr()
    assert "no database configured" in err
    assert "Traceback" not in err
    with site() as (port, _):
        assert main(["sites", "verify", f"http://up.test:{port}/p"]) == 0
        out, err = capsys.readouterr()
        assert "up.test" in out
        assert "no database configured: no pool proxies" in out + err
    assert main(["sites", "verify", f"http://gone.test:{free_port()}/"]) == 2
