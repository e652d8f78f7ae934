"""``opslib models deploy | rollback | list | collect`` and the history-sourced commands
(`patterns generate` without --pages, `reference collect`) against a shop served on
127.0.0.1 and the real test PostgreSQL."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from opslib.cli import main
from opslib.extraction._model import PriceModel
from opslib.extraction._model_store import ModelStore
from opslib.extraction._store import PatternStore
from tests.dbkit import TestDatabase
from tests.patterns.pages import lab_samples, write_dir

DOMAIN = "shop.test"


@pytest.fixture
def shop() -> Iterator[tuple[int, list[tuple[str, Decimal | None]]]]:
    """The lab's changed-layout pages of one shop at /p/N, on a port of 127.0.0.1."""
    samples = lab_samples("changed")
    pages = {f"/p/{n}": s for n, s in enumerate(samples)}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            page = pages.get(self.path)
            html = page.html if page else "gone"
            body = html.encode() if isinstance(html, str) else html
            self.send_response(200 if page else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], [(p, s.price) for p, s in pages.items()]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def env(platform_db: TestDatabase, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> TestDatabase:
    for key in [k for k in os.environ if k.startswith("OPSLIB_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("OPSLIB_DATABASE_DSN", platform_db.dsn)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "opslib.toml").write_text('[sites]\nresolve = { "shop.test" = "127.0.0.1" }\n')
    return platform_db


def _history(db: TestDatabase, port: int, pages: list[tuple[str, Decimal | None]]) -> None:
    for path, price in pages:
        row = db.fetch_one(
            "INSERT INTO monitored_urls (domain, url) VALUES (%s, %s) RETURNING id",
            (DOMAIN, f"http://{DOMAIN}:{port}{path}"),
        )
        assert row is not None
        # the recorded price moved a little since (0.5 %): settled on what the page shows
        recorded = None if price is None else (price * Decimal("1.005")).quantize(Decimal("0.01"))
        db.execute(
            "INSERT INTO price_history (url_id, price, currency, extraction_confidence,"
            " checked_at) VALUES (%s, %s, 'EUR', 0.95, now() - interval '10 minutes')",
            (row["id"], recorded),
        )


def test_generate_and_collect_from_history(
    env: TestDatabase,
    shop: tuple[int, list[tuple[str, Decimal | None]]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    port, pages = shop
    _history(env, port, pages)
    assert main(["patterns", "reference", "collect", DOMAIN]) == 0
    refs = PatternStore(env).references(DOMAIN)
    priced = [p for _, p in pages if p is not None]
    assert len(refs) == min(20, len(priced))
    assert all(r.price in priced for r in refs)  # the page's own price, not the recorded one
    capsys.readouterr()
    assert main(["--json", "patterns", "generate", DOMAIN]) == 0
    proposal = json.loads(capsys.readouterr().out)
    assert proposal["passed"]
    assert proposal["pattern"]["selector"]
    assert main(["patterns", "generate", DOMAIN, "--deploy"]) == 0
    assert main(["patterns", "verify"]) == 0
    assert main(["models", "collect", DOMAIN, "--out", str(tmp_path / "train")]) == 0
    expected = json.loads((tmp_path / "train" / "expected.json").read_text())
    elements = json.loads((tmp_path / "train" / "elements.json").read_text())
    assert len(expected) == len(priced) == len(elements)
    assert all(e["xpath"].startswith("/html/") for e in elements.values())


def test_models_deploy_refuse_rollback(
    env: TestDatabase, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shipped = PriceModel.load()
    good = tmp_path / "good.json"
    shipped.save(good)
    bad = tmp_path / "bad.json"
    PriceModel(dict.fromkeys(shipped.weights, 0.0), (1.0, -20.0)).save(bad)
    pages = write_dir(tmp_path / "pages", lab_samples("standard"))
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    assert main(["models", "deploy", str(junk)]) == 2
    assert main(["models", "deploy", str(good), "--note", "retrained"]) == 0
    assert main(["models", "deploy", str(bad), "--pages", str(pages)]) == 3  # lower F1: refused
    assert main(["models", "deploy", str(bad), "--pages", str(pages), "--force"]) == 0
    store = ModelStore(env, cache_seconds=0)
    active = store.active()
    assert active is not None
    assert active.platt == (1.0, -20.0)
    assert main(["models", "rollback"]) == 0
    restored = store.active()
    assert restored is not None
    assert restored.weights == PriceModel.load(good).weights
    assert main(["models", "rollback"]) == 0  # the first: back to the shipped model
    assert store.active() is None
    capsys.readouterr()
    assert main(["--json", "models", "list"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(v["version"], v["active"]) for v in listed] == [(2, False), (1, False)]
    outcomes = [
        (r["action"], r["outcome"])
        for r in env.fetch_all(
            "SELECT action, outcome FROM opslib.audit_log WHERE action LIKE 'models.%%'"
        )
    ]
    assert ("models.deploy", "refused") in outcomes
    assert outcomes.count(("models.rollback", "ok")) == 2
