"""``opslib sites changes`` against the lab shop's pages served on 127.0.0.1 and the test
PostgreSQL: prices moving are no change, a new template is, baselines first seen and saved."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from opslib.audit import AuditLog
from opslib.cli import main
from opslib.config import load_settings
from opslib.extraction import Pattern, PatternStore
from opslib.lab import LabSettings
from opslib.lab._catalog import Product, catalog
from opslib.lab._control import Layout
from opslib.lab._shop import render_product
from opslib.proxies import Proxy, ProxyPool
from opslib.results import Severity
from opslib.sites import detect_site_changes, site_changes
from tests.dbkit import TestDatabase
from tests.proxies.servers import ProxyServers

DOMAINS = ("alpha-shop.test", "bravo-shop.test", "charlie-shop.test")


@dataclass
class Shop:
    """The lab shop's pages for three domains; layout and the clock are the test's."""

    products: dict[str, dict[int, Product]]
    port: int = 0
    layouts: dict[str, Layout] = field(default_factory=dict)
    epoch: float = field(default_factory=time.time)
    hits: list[str] = field(default_factory=list)

    def url(self, domain: str, n: int) -> str:
        return f"http://{domain}:{self.port}/product/{n}"


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Shop]:
    products: dict[str, dict[int, Product]] = {}
    for p in catalog(LabSettings.for_tests(tmp_path, 40000)):
        if p.domain in DOMAINS:
            products.setdefault(p.domain, {})[p.n] = p
    state = Shop(products)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            host = (self.headers.get("Host") or "").split(":")[0]
            state.hits.append(f"{self.client_address[0]} {host}")
            n = int(self.path.rsplit("/", 1)[-1])
            product = state.products[host][n]
            layout = "noprice" if product.out_of_stock else state.layouts.get(host, "standard")
            body = render_product(product, layout, state.epoch).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def configured(platform_db: TestDatabase, shop: Shop, workdir: Path) -> Path:
    for domain in DOMAINS:
        for n in sorted(shop.products[domain])[:5]:
            platform_db.execute(
                "INSERT INTO monitored_urls (domain, url) VALUES (%s, %s)",
                (domain, shop.url(domain, n)),
            )
    config = workdir / "opslib.toml"
    config.write_text(
        f'database_dsn = "{platform_db.dsn}"\n[timeouts]\nhttp = 3\n'
        '[sites]\nchange_pages = 4\nresolve = { "*.test" = "127.0.0.1" }\n'
    )
    return config


def test_prices_moving_is_no_change_a_new_template_is(
    platform_db: TestDatabase, shop: Shop, configured: Path
) -> None:
    settings = load_settings(configured)
    first = detect_site_changes(platform_db, settings)
    assert first.saved == 12
    assert all(d.recorded and not d.changed for d in first.domains)
    assert site_changes(platform_db, settings, first).severity is Severity.OK
    # Days later: every price moved (and the pages read again); no domain changed.
    for days in (2, 5, 9):
        shop.epoch = time.time() + days * 86400
        again = detect_site_changes(platform_db, settings)
        assert again.saved == 0
        assert again.changed == ()
        assert all(d.distance == 0.0 for d in again.domains)
        assert site_changes(platform_db, settings, again).severity is Severity.OK
    # bravo relaunches its shop: the one change, its price still found, at lower confidence.
    shop.layouts["bravo-shop.test"] = "redesign"
    report = detect_site_changes(platform_db, settings)
    assert report.changed == ("bravo-shop.test",)
    bravo = report.of("bravo-shop.test")
    assert bravo.distance is not None
    assert bravo.distance > 0.8
    assert bravo.price_found == (4, 4)
    assert bravo.confidence is not None
    assert bravo.baseline_confidence is not None
    assert bravo.confidence < 0.7 < bravo.baseline_confidence
    result = site_changes(platform_db, settings, report)
    assert result.severity is Severity.CRITICAL
    assert [m.subject for m in result.problems] == ["bravo-shop.test"]
    assert "opslib patterns generate bravo-shop.test" in result.message()
    assert "opslib patterns generate alpha" not in result.message()


def test_the_command_json_save_baseline_and_proxies(
    platform_db: TestDatabase,
    shop: Shop,
    configured: Path,
    proxy_servers: ProxyServers,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["sites", "changes"]) == 0
    out, _ = capsys.readouterr()
    assert "baseline(s) saved" in out
    shop.layouts["charlie-shop.test"] = "changed"
    assert main(["sites", "changes", "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["changed"] == ["charlie-shop.test"]
    charlie = next(d for d in report["domains"] if d["domain"] == "charlie-shop.test")
    assert charlie["distance"] >= charlie["limit"]
    assert charlie["pages_read"] == 4
    # Only charlie asked for, through the pool's proxy: still changed, no baseline written.
    ProxyPool(platform_db).upsert(
        [Proxy(scheme="http", host="127.0.0.1", port=proxy_servers.http_proxy())]
    )
    shop.hits.clear()
    assert main(["sites", "changes", "charlie-shop.test", "--via-proxies", "1"]) == 2
    out, _ = capsys.readouterr()
    assert "opslib patterns generate charlie-shop.test" in out
    assert "through 1 proxies" in out
    assert shop.hits
    assert all(h.startswith("127.0.0.2 charlie-shop.test") for h in shop.hits)
    # The change was deliberate: the dry run writes nothing, --save-baseline accepts it.
    assert main(["sites", "changes", "charlie-shop.test", "--save-baseline", "--dry-run"]) == 0
    capsys.readouterr()
    assert main(["sites", "changes", "charlie-shop.test"]) == 2
    capsys.readouterr()
    assert main(["sites", "changes", "charlie-shop.test", "--save-baseline"]) == 0
    capsys.readouterr()
    assert main(["sites", "changes"]) == 0
    audit = AuditLog(platform_db).recent(action="sites.baseline")
    assert [e.dry_run for e in audit] == [False, True, False]


def test_a_site_that_cannot_be_read_is_not_a_change(
    platform_db: TestDatabase, configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sites", "changes"]) == 0
    capsys.readouterr()
    platform_db.execute("UPDATE monitored_urls SET url = replace(url, '/product/', '/nothing/')")
    platform_db.execute("UPDATE monitored_urls SET url = 'http://gone.test:1/p' WHERE id = 1")
    code = main(["sites", "changes", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code in (0, 3)
    assert report["changed"] == []
    assert "Traceback" not in json.dumps(report)


def test_the_domains_active_pattern_reads_the_price(
    platform_db: TestDatabase, shop: Shop, configured: Path
) -> None:
    settings = load_settings(configured)
    detect_site_changes(platform_db, settings)
    store = PatternStore(platform_db)
    store.deploy("alpha-shop.test", Pattern("span.price", currency="EUR", confidence=0.97))
    same = detect_site_changes(platform_db, settings, ["alpha-shop.test"]).of("alpha-shop.test")
    assert not same.changed
    shop.layouts["alpha-shop.test"] = "redesign"  # the pattern's element is gone with it
    moved = detect_site_changes(platform_db, settings, ["alpha-shop.test"]).of("alpha-shop.test")
    assert moved.changed
    assert moved.price_found[0] == 0
    assert moved.confidence == 0.0
