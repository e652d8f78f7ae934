"""The README's rate-limit example runs as written: requests within the limit, a 429's
Retry-After holds the domain for every limiter, a domain in cooldown is left alone."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from opslib.domains import DomainControls
from opslib.ratelimit import RateLimiter, RateLimitTimeout
from tests.dbkit import TestDatabase

README = Path(__file__).resolve().parents[2] / "README.md"


def _example() -> str:
    section = README.read_text().split("## Using the library", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    [block] = [b for b in blocks if "RateLimiter" in b]
    return str(block)


class _Shop(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        limited = self.path.startswith("/busy")
        self.send_response(429 if limited else 200)
        if limited:
            self.send_header("Retry-After", "30")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def shop() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Shop)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_example(
    platform_db: TestDatabase, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, shop: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPSLIB_CONFIG", raising=False)
    monkeypatch.setenv("OPSLIB_DATABASE_DSN", platform_db.dsn)
    monkeypatch.setenv("OPSLIB_DOMAIN_CONTROLS__CACHE_SECONDS", "0")
    namespace: dict[str, Any] = {}
    exec(compile(_example(), "README.md", "exec"), namespace)
    limiter: RateLimiter = namespace["limiter"]
    controls: DomainControls = namespace["controls"]
    try:
        with httpx.Client(trust_env=False) as client:
            polite_get = namespace["polite_get"]
            assert polite_get(client, "alpha.test", f"{shop}/p/1").status_code == 200
            assert polite_get(client, "busy.test", f"{shop}/busy/1").status_code == 429
            with platform_db.open() as other_db:
                other = RateLimiter(other_db)
                with pytest.raises(RateLimitTimeout):
                    other.acquire("busy.test", timeout=1)  # another replica waits too
            assert polite_get(client, "busy.test", f"{shop}/busy/1") is None
            controls.cooldown("alpha.test", timedelta(minutes=5))
            assert polite_get(client, "alpha.test", f"{shop}/p/1") is None
    finally:
        limiter.database.close()
        controls.database.close()
