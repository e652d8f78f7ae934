"""No secret in any byte opslib writes, at any log level (issue 9, item 1).

Known secrets are seeded into every place one can live: the database password, the basic auth
of ``prometheus_url``, ``metrics_urls``, ``proxies.judge_url`` and ``proxies.target_urls``, the
``--ops-pushgateway`` URL, the passwords of an HTTP and a SOCKS5 proxy in the pool (sealed at
rest with ``proxies.encryption_keys``, whose key is a secret too) and of the URL a proxy list is
downloaded from. Every command then runs at every verbosity, and the daily suite with live
logging and a log file at INFO and DEBUG; stdout, stderr, log files, reports, backups (the dump
as the SQL it restores to) and the audit log are searched for each secret, as written,
percent-encoded and inside a Basic ``Authorization`` value. Every server is real and listens on
127.0.0.1.
"""

from __future__ import annotations

import base64
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography.fernet import Fernet
from psycopg import sql

from opslib.adapters import Database
from opslib.lab._postgres import PostgresCluster, find_pg_bindir
from opslib.migrations import migrate
from tests.proxies.servers import ProxyServers, serving
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
# name -> (user, password); every password is unique, so a hit names the leak.
SEEDED = {
    "prometheus": ("promuser", "Prom-Secret-4711"),
    "metrics": ("metricsuser", "Metrics-Secret-0815"),
    "judge": ("judgeuser", "Judge-Secret-2342"),
    "target": ("targetuser", "Target-Secret-9876"),
    "pushgateway": ("pushuser", "Push-Secret-5150"),
    "list": ("listuser", "List-Secret-1234"),
    "http proxy": ("proxyuser", "HttpProxy-Secret-7007"),
    "socks proxy": ("socksuser", "Socks-Secret-6006"),
    "bad setting": ("baduser", "BadSetting-Secret-3003"),
    "key pepper": ("pepper", "KeyPepper-Secret-4242"),
}
KEY = Fernet.generate_key().decode()  # seals the pool's passwords at rest
VERBOSITY: list[list[str]] = [[], ["-v"], ["-vv"]]
BAD_URL = "http://baduser:BadSetting-Secret-3003@[not-a-host"
# (id, argv, environment added); "{name}" is filled from World.values.
COMMANDS: list[tuple[str, list[str], dict[str, str]]] = [
    ("update list url", ["proxies", "update", "{list_url}"], {}),
    ("update file", ["proxies", "update", "--dry-run", "{list_file}"], {}),
    ("update bad url", ["proxies", "update", "http://listuser:List-Secret-1234@[bad/x"], {}),
    ("list", ["proxies", "list"], {}),
    ("list json", ["--json", "proxies", "list"], {}),
    ("test", ["proxies", "test", "--targets"], {}),
    ("test json", ["--json", "proxies", "test", "--dry-run"], {}),
    ("health", ["proxies", "health", "--dry-run"], {}),
    ("distribution", ["proxies", "distribution"], {}),
    ("rotate", ["proxies", "rotate", "--dry-run"], {}),
    ("encrypt", ["proxies", "encrypt", "--dry-run"], {}),
    ("encrypt json", ["--json", "proxies", "encrypt"], {}),
    ("config", ["proxies", "config", "alpha-shop.test"], {}),
    ("db status", ["db", "status"], {}),
    ("backup create", ["backup", "create"], {}),
    ("backup list", ["--json", "backup", "list"], {}),
    ("backup integrity", ["backup", "integrity"], {}),
    ("keys list", ["keys", "list", "--all"], {}),
    ("keys create", ["--json", "keys", "create", "acme"], {}),
    ("keys rotate", ["keys", "rotate", "acme", "--dry-run"], {}),
    ("keys revoke", ["keys", "revoke", "nobody", "--reason", "x"], {}),
    ("credentials rotate", ["credentials", "rotate", "database", "--dry-run"], {}),
    ("bad prometheus_url", ["proxies", "list"], {"OPSLIB_PROMETHEUS_URL": BAD_URL}),
    ("bad metrics_urls", ["proxies", "list"], {"OPSLIB_METRICS_URLS": BAD_URL}),
    ("bad judge_url", ["proxies", "list"], {"OPSLIB_PROXIES__JUDGE_URL": BAD_URL}),
    ("bad docker_host", ["proxies", "list"], {"OPSLIB_DOCKER_HOST": "ftp" + BAD_URL[4:]}),
    ("usage error", ["proxies", "config", "a.test", "--country", BAD_URL], {}),
]


@dataclass
class World:
    """Servers, a database and a config file holding every seeded secret."""

    tmp: Path
    env: dict[str, str]
    dsn: str
    db_password: str
    values: dict[str, str] = field(default_factory=dict)

    def forms(self) -> dict[str, str]:
        """Every seeded secret in every form it could leak in -> the name of its source."""
        found = {self.db_password: "database password", KEY.rstrip("="): "encryption key"}
        for name, (user, password) in SEEDED.items():
            found[password] = name
            found[quote(password, safe="")] = name
            found[base64.b64encode(f"{user}:{password}".encode()).decode()] = name
        return found

    def leaks(self, text: str, where: str) -> list[str]:
        forms = self.forms().items()
        return [f"{where}: {name} ({form!r})" for form, name in forms if form in text]

    def written(self) -> list[str]:
        """Leaks in every file under the world's directory (reports, logs, backups' metadata)."""
        hits = []
        for path in sorted(self.tmp.rglob("*")):
            if path.is_relative_to(self.tmp / "in"):
                continue  # the config file and the list hold the secrets: they are the input
            if path.is_file() and path.name == "db.dump":
                # Compressed: searched as the SQL it restores to. The pool's passwords are
                # sealed (proxies.encryption_keys), so the dump holds none of them.
                hits += self.leaks(_restored_sql(path), str(path))
            elif path.is_file():
                hits += self.leaks(path.read_bytes().decode("latin-1"), str(path))
        return hits


def _restored_sql(dump: Path) -> str:
    done = subprocess.run(
        [str(find_pg_bindir() / "pg_restore"), "--file=-", str(dump)],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    assert b"opslib.proxies" in done.stdout  # the pool's rows are in it
    return done.stdout.decode("latin-1")


class _Site(http.server.BaseHTTPRequestHandler):
    """Stands in for Prometheus, a scraper's /metrics, a Pushgateway and a list server."""

    body: bytes = b""

    def do_GET(self) -> None:
        if self.path.startswith("/list.txt"):
            self._answer(200, self.body)
        elif self.path.startswith("/metrics"):
            self._answer(200, b"# TYPE queue_size gauge\nqueue_size 3\n")
        else:
            self._answer(503, b'{"status": "error", "error": "not a real Prometheus"}')

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer(401, b"who are you")

    do_POST = do_PUT

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def world(pg_cluster: PostgresCluster) -> Iterator[World]:
    name = f"t_secrets_{uuid.uuid4().hex[:8]}"
    dsn = pg_cluster.dsn.replace(f"dbname={pg_cluster.database}", f"dbname={name}")
    tmp = Path(tempfile.mkdtemp(prefix="opslib-secrets-"))
    with Database(pg_cluster.dsn) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        with Database(dsn) as db:
            migrate(db, ("opslib", "platform"))
        with serving() as servers:
            http_port = servers.http_proxy(credentials=SEEDED["http proxy"])
            socks_port = servers.socks5_proxy(credentials=SEEDED["socks proxy"])
            site = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Site)
            threading.Thread(target=site.serve_forever, daemon=True).start()
            try:
                yield _make_world(tmp, dsn, pg_cluster.password, servers, http_port, socks_port,
                                  site.server_address[1])  # fmt: skip
            finally:
                site.shutdown()
                site.server_close()
    finally:
        with Database(pg_cluster.dsn) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        shutil.rmtree(tmp, ignore_errors=True)


def _url(name: str, rest: str) -> str:
    user, password = SEEDED[name]
    return f"http://{user}:{password}@{rest}"


def _make_world(
    tmp: Path, dsn: str, db_password: str, servers: ProxyServers, http_port: int, socks_port: int,
    site_port: int,
) -> World:  # fmt: skip
    proxies = (
        f"{_url('http proxy', f'127.0.0.1:{http_port}')}\n"
        f"socks5://{SEEDED['socks proxy'][0]}:{SEEDED['socks proxy'][1]}@127.0.0.1:{socks_port}\n"
    )
    _Site.body = proxies.encode()
    (tmp / "in").mkdir()
    (tmp / "in" / "proxies.txt").write_text(proxies)
    (tmp / "in" / "app.env").write_text(f"DATABASE_PASSWORD={db_password}\n")
    (tmp / "backups").mkdir(mode=0o700)
    (tmp / "etc").mkdir()
    (tmp / "etc" / "scraper.conf").write_text("workers = 2\n")
    judge = servers.judge_url.replace("http://", "")
    target = servers.target_url.replace("http://", "")
    config = tmp / "in" / "opslib.toml"
    config.write_text(
        "\n".join(
            [
                f"database_dsn = {_toml(dsn)}",
                f"prometheus_url = {_toml(_url('prometheus', f'127.0.0.1:{site_port}'))}",
                f"metrics_urls = [{_toml(_url('metrics', f'127.0.0.1:{site_port}/metrics'))}]",
                'expected_services = ["scraper"]',
                "[timeouts]\nconnect = 2\nhttp = 2\ndocker = 2",
                f"[proxies]\njudge_url = {_toml(_url('judge', judge))}",
                f"target_urls = [{_toml(_url('target', target))}]",
                "test_timeout = 3\ntest_deadline = 20",
                f"encryption_keys = [{_toml(KEY)}]",
                f"[backups]\nbackup_dir = {_toml(str(tmp / 'backups'))}",
                f"config_paths = [{_toml(str(tmp / 'etc'))}]\nmin_count = 1",
                f"[security]\nkey_pepper = {_toml(SEEDED['key pepper'][1])}",
                f"db_secret_file = {_toml(str(tmp / 'in' / 'app.env'))}",
                "",
            ]
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSLIB_")}
    env["OPSLIB_CONFIG"] = str(config)
    env.pop("DOCKER_HOST", None)
    world = World(tmp, env, dsn, db_password)
    world.values = {
        "list_url": _url("list", f"127.0.0.1:{site_port}/list.txt"),
        "list_file": str(tmp / "in" / "proxies.txt"),
        "pushgateway": _url("pushgateway", f"127.0.0.1:{site_port}"),
    }
    assert world.leaks(proxies, "list")  # the search finds what is there
    assert world.leaks(config.read_text(), "config")
    return world


def _toml(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _run(world: World, argv: list[str], env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        argv, env=env or world.env, cwd=world.tmp, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return done.stdout + done.stderr


@pytest.mark.parametrize("verbosity", VERBOSITY, ids=["quiet", "-v", "-vv"])
@pytest.mark.parametrize(("argv", "extra"), [c[1:] for c in COMMANDS], ids=[c[0] for c in COMMANDS])
def test_no_command_shows_a_secret(
    world: World, argv: list[str], extra: dict[str, str], verbosity: list[str]
) -> None:
    args = [a.format(**world.values) for a in argv]
    env = {**world.env, **extra}
    output = _run(world, [sys.executable, "-m", "opslib.cli", *verbosity, *args], env)
    assert output.strip(), "the command said nothing: nothing was searched"
    if verbosity == ["-vv"] and argv[:2] == ["proxies", "test"]:
        assert "DEBUG" in output  # httpcore's traces (the SOCKS auth tuple) were logged ...
    if verbosity and argv == ["proxies", "update", "{list_url}"]:
        assert "HTTP Request: GET" in output  # ... as were httpx's requests
    assert world.leaks(output, "output") == []
    assert world.written() == []


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_no_check_run_shows_a_secret(world: World, level: str) -> None:
    out = world.tmp / f"reports-{level}"
    out.mkdir()
    argv = [
        sys.executable, "-m", "pytest", str(ROOT / "checks" / "daily"), "-p", "no:cacheprovider",
        "-o", "log_cli=true", f"--log-cli-level={level}", f"--log-file={out / 'log.txt'}",
        f"--log-file-level={level}", f"--log-level={level}", "-rA",
        f"--junitxml={out / 'daily.xml'}", f"--ops-summary={out / 'daily.json'}",
        f"--ops-prometheus={out / 'daily.prom'}",
        f"--ops-pushgateway={world.values['pushgateway']}",
    ]  # fmt: skip
    if _has_pytest_html():
        argv.append(f"--html={out / 'daily.html'}")
    output = _run(world, argv)
    log = (out / "log.txt").read_text()
    assert "HTTP Request: GET http://promuser:***@" in log  # httpx logged the request, masked
    assert world.leaks(output, "pytest output") == []
    assert world.written() == []


def test_audit_log_holds_no_secret(world: World) -> None:
    _run(world, [sys.executable, "-m", "opslib.cli", "proxies", "update", world.values["list_url"]])
    with Database(world.dsn) as db:
        rows = db.fetch_all("SELECT t::text AS row FROM opslib.audit_log t")
    assert any("list.txt" in r["row"] for r in rows)
    assert world.leaks("\n".join(r["row"] for r in rows), "audit log") == []


def _has_pytest_html() -> bool:
    try:
        import pytest_html  # noqa: F401
    except ImportError:
        return False
    return True
