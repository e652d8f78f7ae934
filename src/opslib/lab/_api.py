"""The platform's API in the lab: price data for customers with API keys, an admin surface,
an access log in combined format, and the blocklist honoured through ``opslib.security``.

Run as ``python -m opslib.lab._api --state-dir DIR``: the server on 127.0.0.1 plus a few
normal clients (from 127.0.2.x, each with its own key) polling prices about once a second.
``--attack brute-force|scan`` runs one attacker instead (from 127.0.3.x), the traffic of the
lab faults of the same names: many 401s against login and keys, or probes of ``/.env``,
``/admin``, traversal and injection paths. Every source address is a loopback address: the
client socket is bound to it before it connects.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import secrets
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

from opslib.config import load_settings
from opslib.connect import open_database
from opslib.errors import LabError, OpsError
from opslib.lab._catalog import Product, catalog
from opslib.lab._control import ControlFile
from opslib.lab._paths import LabPaths, load_recorded
from opslib.lab._procs import Supervisor, child_env
from opslib.lab._settings import LabSettings
from opslib.security import (
    Blocklist,
    Decision,
    KeyStore,
    RequestRules,
    fingerprint,
    key_store,
)
from opslib.security._debug import DebugState, DebugSwitch

__all__ = [
    "ATTACKERS",
    "NORMAL_CLIENTS",
    "access_log",
    "api_port",
    "debug_log",
    "main",
    "start_attack",
    "stop_attack",
]

NORMAL_CLIENTS = tuple(f"127.0.2.{i}" for i in range(1, 6))
"""The addresses of the lab's well-behaved API clients."""
ATTACKERS = {"brute-force": "127.0.3.66", "scan": "127.0.3.77"}
"""The address each attack comes from."""
_PROBES = (
    "/.env",
    "/admin",
    "/admin/login",
    "/wp-login.php",
    "/.git/config",
    "/phpmyadmin/",
    "/server-status",
    "/static/../../etc/passwd",
    "/api/v1/prices?product=1%27%20OR%201=1--",
    "/api/v1/prices?product=1;cat%20/etc/passwd",
    "/backup.sql",
    "/actuator/env",
)
_ADMIN_PAGE = b"<html><body><h1>pricewatch admin</h1><form method=post>...</form></body></html>\n"


def api_port(settings: LabSettings) -> int:
    """The API's port: three above the shop's (a free slot of the lab's port span)."""
    return settings.shop_port + 3


def access_log(state_dir: Path) -> Path:
    """Where the API writes its access log."""
    return LabPaths(state_dir).log_dir / "api-access.log"


def debug_log(state_dir: Path) -> Path:
    """Where the API writes a line per request, with its request id, while debug logging is
    switched on (``opslib security debug on``)."""
    return LabPaths(state_dir).log_dir / "api-debug.log"


class _Handler(BaseHTTPRequestHandler):
    server: ApiServer
    protocol_version = "HTTP/1.1"
    routes: ClassVar[dict[str, str]] = {}
    debug = DebugState()
    request_id = ""

    def log_message(self, format: str, *args: object) -> None:
        pass  # the access log is written by _send

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        ip = self.client_address[0]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 65536)) if length else b""
        server = self.server
        key = self.headers.get("X-API-Key") or ""
        split = urlsplit(self.path)
        query = parse_qs(split.query)
        key = key or (query.get("api_key") or [""])[0]
        user = fingerprint(key) if key else "-"
        self.debug = server.debug_state()
        self.request_id = uuid.uuid4().hex[:16] if self.debug.on else ""
        if server.blocked(ip):
            self._send(403, b'{"error": "blocked"}\n', user)
            return
        decision = server.check_rules(self.command, self.path, ip, key, self.headers.keys())
        if not decision.allowed:  # the request rules (opslib security rules)
            answer = json.dumps({"error": decision.reason}).encode() + b"\n"
            self._send(decision.status, answer, user)
            return
        path = split.path
        if path == "/health":
            self._send(200, b"ok\n", user)
        elif path in ("/admin", "/admin/login"):
            self._send(200, _ADMIN_PAGE, user, "text/html")  # the admin surface answers anyone
        elif path == "/login" and self.command == "POST":
            form = parse_qs(body.decode("utf-8", "replace"))
            ok = secrets.compare_digest((form.get("password") or [""])[0], server.admin_password)
            self._send(200 if ok else 401, b"{}\n", user)
        elif path.startswith("/api/v1/"):
            owner = server.key_owner(key)  # logged as the request's user, like %u
            if owner is None:
                self._send(401, b'{"error": "invalid API key"}\n', user)
            elif path == "/api/v1/prices":
                self._prices(query, owner)
            else:
                self._send(404, b'{"error": "not found"}\n', owner)
        else:
            self._send(404, b"not found\n", user)

    def _prices(self, query: dict[str, list[str]], user: str) -> None:
        products = self.server.products
        try:
            product = products[int((query.get("product") or ["0"])[0]) % len(products)]
        except ValueError:
            self._send(400, b'{"error": "product must be a number"}\n', user)
            return
        payload = {
            "product": product.n,
            "domain": product.domain,
            "name": product.name,
            "price": round(product.price_at(time.time()), 2),
            "currency": product.currency,
        }
        self._send(200, json.dumps(payload).encode() + b"\n", user)

    def _send(self, status: int, body: bytes, user: str, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        if self.debug.request_tracking:
            self.send_header("X-Request-ID", self.request_id)
        self.end_headers()
        self.wfile.write(body)
        agent = (self.headers.get("User-Agent") or "-").replace('"', "'")
        request = self.requestline.replace('"', "%22")
        stamp = datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
        self.server.write_log(
            f'{self.client_address[0]} - {user} [{stamp}] "{request}" {status} {len(body)}'
            f' "-" "{agent}"\n'
        )
        if self.debug.debug_logging:
            path = urlsplit(self.path).path.replace(" ", "%20")  # no query: it may hold a key
            self.server.write_debug(
                f"{datetime.now(UTC).isoformat(timespec='milliseconds')} DEBUG api"
                f" request_id={self.request_id} client={self.client_address[0]}"
                f" method={self.command} path={path} status={status} bytes={len(body)}"
                f" key={user}\n"
            )


class ApiServer(ThreadingHTTPServer):
    """The API on 127.0.0.1, with its keys (in ``opslib.api_keys``, read through ``store``;
    its normal clients' keys created anew at start) and its access log."""

    daemon_threads = True
    request_queue_size = 256

    def __init__(
        self,
        settings: LabSettings,
        log: Path,
        blocked: Callable[[str], bool],
        store: KeyStore,
        keys: int = 5,
        *,
        rules: RequestRules | None = None,
    ) -> None:
        self.products: list[Product] = list(catalog(settings))
        self.blocked = blocked
        self.rules = rules or RequestRules(None)
        self.rules_ignored: Callable[[], bool] = lambda: False  # lab fault rules-ignored
        self.store = store
        self._store_lock = threading.Lock()
        self.client_keys = [_client_key(store, f"lab-client-{i + 1}") for i in range(keys)]
        self.admin_password = secrets.token_urlsafe(16)
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log = log.open("a", buffering=1)
        self._log_lock = threading.Lock()
        self._debug_log = log.with_name("api-debug.log")
        self.debug_state: Callable[[], DebugState] = DebugState
        super().__init__(("127.0.0.1", api_port(settings)), _Handler)

    def check_rules(
        self, method: str, path: str, source: str, key: str, headers: Iterable[str]
    ) -> Decision:
        """The request rules' answer (allow while the lab fault ``rules-ignored`` lasts)."""
        if self.rules_ignored():
            return Decision(True)
        return self.rules.check_request(method, path, source, key, headers)

    def key_ok(self, key: str) -> bool:
        """Whether ``key`` is a live key of the store (refused when it cannot be read)."""
        try:
            with self._store_lock:
                return self.store.verify(key) is not None
        except OpsError:
            return False

    def key_owner(self, key: str) -> str | None:
        """The name of the live key ``key`` (the access log's user), or None (refused when the
        store cannot be read)."""
        try:
            with self._store_lock:
                found = self.store.verify(key)
        except OpsError:
            return None
        return found.name if found is not None else None

    def write_log(self, line: str) -> None:
        with self._log_lock:
            self._log.write(line)

    def write_debug(self, line: str) -> None:
        """Append a line to the debug log (opened per line: it is rarely switched on)."""
        with self._log_lock, self._debug_log.open("a") as out:
            out.write(line)

    def server_close(self) -> None:
        super().server_close()
        self._log.close()


def _client_key(store: KeyStore, name: str) -> str:
    """A new key for the lab client ``name``, its earlier ones revoked."""
    if store.find(name):
        store.revoke(name, reason="the lab API restarted", actor="lab")
    return store.create(name, actor="lab")[1]


def _request(
    source: str,
    port: int,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5, source_address=(source, 0))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        response.read()
    except OSError:
        return 0
    else:
        return response.status
    finally:
        conn.close()


def _normal_client(source: str, key: str, port: int, stop: threading.Event) -> None:
    rng = random.Random(source)  # noqa: S311 - traffic shape, not secrets
    agent = {"User-Agent": "pricewatch-client/1.4", "X-API-Key": key}
    while not stop.wait(rng.uniform(0.6, 1.4)):
        _request(source, port, "GET", f"/api/v1/prices?product={rng.randrange(500)}", headers=agent)


def attack(name: str, port: int, stop: threading.Event, rate: float = 25.0) -> None:
    """Send the traffic of attack ``name`` at about ``rate`` requests/s until ``stop``."""
    source = ATTACKERS[name]
    rng = random.Random(name)  # noqa: S311 - traffic shape, not secrets
    while not stop.wait(1.0 / rate):
        if name == "brute-force":
            if rng.random() < 0.5:
                body = f"user=admin&password={secrets.token_hex(6)}".encode()
                headers = {"User-Agent": "python-requests/2.31.0",
                           "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
                _request(source, port, "POST", "/login", headers=headers, body=body)
            else:
                headers = {"User-Agent": "python-requests/2.31.0",
                           "X-API-Key": secrets.token_urlsafe(24)}  # fmt: skip
                _request(source, port, "GET", "/api/v1/prices?product=1", headers=headers)
        else:
            headers = {"User-Agent": "Mozilla/5.0 zgrab/0.x"}
            _request(source, port, "GET", rng.choice(_PROBES), headers=headers)


def _supervisor(settings: LabSettings) -> Supervisor:
    paths = LabPaths(settings.state_dir)
    return Supervisor(paths.run_dir, paths.log_dir)


def start_attack(name: str, settings: LabSettings) -> str:
    """Start the background traffic of attack ``name``; return the fault's description."""
    argv = [sys.executable, "-m", "opslib.lab._api", "--state-dir", str(settings.state_dir)]
    _supervisor(settings).start(f"attack-{name}", [*argv, "--attack", name], env=child_env())
    source = ATTACKERS[name]
    if name == "brute-force":
        return f"brute-force: {source} tries passwords on /login and random API keys (~25/s, 401s)"
    return f"scan: {source} probes /.env, /admin, traversal and injection paths (~25/s)"


def stop_attack(name: str, settings: LabSettings) -> str:
    """Stop the traffic of attack ``name``."""
    _supervisor(settings).stop(f"attack-{name}")
    return f"{name}: the attack traffic from {ATTACKERS[name]} stopped"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="opslib-lab-api")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--attack", choices=sorted(ATTACKERS))
    args = parser.parse_args(argv)
    settings = load_recorded(args.state_dir)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if args.attack:
        attack(args.attack, api_port(settings), stop)
        return 0
    config = load_settings(LabPaths(args.state_dir).config)
    blocklist = Blocklist(open_database(config, application_name="opslib-lab-api"), config.security)
    store = key_store(open_database(config, application_name="opslib-lab-api-keys"), config)
    rules = RequestRules(
        open_database(config, application_name="opslib-lab-api-rules"),
        ttl=config.security.cache_seconds,
    )
    log = access_log(args.state_dir)
    server = ApiServer(settings, log, _guarded(blocklist), store, rules=rules)
    server.rules_ignored = _fault_active(LabPaths(args.state_dir).control, "rules-ignored")
    switch = DebugSwitch(open_database(config, application_name="opslib-lab-api-debug"),
                         config.security)  # fmt: skip
    server.debug_state = lambda: switch.state(config.security.service)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
    ).start()
    clients = [
        threading.Thread(
            target=_normal_client, args=(ip, key, api_port(settings), stop), daemon=True
        )
        for ip, key in zip(NORMAL_CLIENTS, server.client_keys, strict=True)
    ]
    for client in clients:
        client.start()
    print(f"api: 127.0.0.1:{api_port(settings)}, {len(clients)} normal clients", flush=True)
    stop.wait()
    server.shutdown()
    server.server_close()
    return 0


def _fault_active(path: Path, name: str) -> Callable[[], bool]:
    control = ControlFile(path)

    def active() -> bool:
        try:
            return name in control.read().faults
        except LabError:
            return False

    return active


def _guarded(blocklist: Blocklist) -> Callable[[str], bool]:
    def blocked(ip: str) -> bool:
        try:
            return blocklist.is_blocked(ip)
        except OpsError:  # fail open: the API keeps serving; the check says if blocks leak
            return False

    return blocked


if __name__ == "__main__":
    sys.exit(main())
