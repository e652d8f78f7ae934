"""Real servers for the adapter tests, all on 127.0.0.1: a scripted HTTP server, a black hole,
a prometheus_client exporter with a Prometheus server scraping it, and labelled containers."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest
from prometheus_client import CollectorRegistry, Gauge, generate_latest, start_http_server
from prometheus_client import Counter as PromCounter

import opslib
from opslib.adapters import Prometheus
from opslib.errors import OpsError
from opslib.lab._image import ensure_image, python_mounts
from tests.support import free_port, wait_until

HUGE_BYTES = 21 * 1024 * 1024
SLOW_SECONDS = 1.0
TEST_LABEL = "opslib.test.adapters"
PYTHON = sys.executable
# The venv installs opslib editable, so its source directory must be visible in containers too.
_SOURCE = Path(opslib.__file__).resolve().parents[1]


# --- a scripted HTTP server -------------------------------------------------------------------


def exposition() -> bytes:
    """What a healthy scraper's /metrics says, produced by the real prometheus_client."""
    registry = CollectorRegistry()
    jobs = PromCounter("opslib_jobs", "Jobs done.", ["kind"], registry=registry)
    jobs.labels(kind="a").inc(3)
    jobs.labels(kind="b").inc(5)
    Gauge("opslib_queue_size", "Queue length.", registry=registry).set(42)
    Gauge("opslib_ratio", "Unknown ratio.", registry=registry).set(float("nan"))
    return generate_latest(registry)


_WRONG_SHAPE = (
    b'{"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}}]}}'
)
_HTML = b"<html><body><h1>Welcome to nginx!</h1></body></html>\n"


class _Handler(BaseHTTPRequestHandler):
    server: _ScriptedServer

    def do_GET(self) -> None:
        route = self.path.split("?")[0].strip("/").split("/")[0]
        self.server.hits[route] += 1
        # The client may give up on purpose (body cap, timeout): nothing to report then.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._answer(route)

    def _answer(self, route: str) -> None:
        if route == "good":
            self._send(200, exposition(), "text/plain; version=0.0.4")
        elif route == "slow":
            time.sleep(SLOW_SECONDS)
            self._send(200, exposition(), "text/plain; version=0.0.4")
        elif route == "html":
            self._send(200, _HTML, "text/html")
        elif route == "wrong-shape":
            self._send(200, _WRONG_SHAPE, "application/json")
        elif route == "error500":
            self._send(500, b"internal error\n", "text/plain")
        elif route == "huge":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            line = b"# padding padding padding padding padding padding padding padding\n"
            block = line * (65536 // len(line))
            for _ in range(HUGE_BYTES // len(block) + 1):
                self.wfile.write(block)
        elif route == "huge-declared":
            self.send_response(200)
            self.send_header("Content-Length", str(HUGE_BYTES))
            self.end_headers()
        else:
            self._send(404, b"not found\n", "text/plain")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests assert on what the client saw."""


class _ScriptedServer(ThreadingHTTPServer):
    daemon_threads = True
    hits: Counter[str]


@dataclass
class ScriptedHTTP:
    """Routes: /good /slow /html /wrong-shape /error500 /huge /huge-declared; others 404."""

    port: int
    hits: Counter[str] = field(default_factory=Counter)

    def url(self, route: str) -> str:
        return f"http://127.0.0.1:{self.port}/{route}"


@pytest.fixture(scope="session")
def scripted_http() -> Iterator[ScriptedHTTP]:
    server = _ScriptedServer(("127.0.0.1", 0), _Handler)
    server.hits = Counter()
    thread = threading.Thread(target=server.serve_forever, name="scripted-http", daemon=True)
    thread.start()
    yield ScriptedHTTP(server.server_address[1], server.hits)
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture(scope="session")
def black_hole() -> Iterator[int]:
    """A port that accepts connections (into the backlog) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield int(sock.getsockname()[1])
    sock.close()


# --- Prometheus scraping a real exporter ------------------------------------------------------


@dataclass(frozen=True)
class PrometheusServer:
    url: str
    exporter: str  # host:port of the exporter it scrapes
    dead: str  # host:port of a target that is down
    started: float  # unix time the exporter had its values


@pytest.fixture(scope="module")
def prometheus_server(
    prometheus_bin: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrometheusServer]:
    registry = CollectorRegistry()
    jobs = PromCounter("opslib_test_jobs", "Jobs done.", ["kind"], registry=registry)
    jobs.labels(kind="a").inc(3)
    jobs.labels(kind="b").inc(5)
    exporter_port = free_port()
    exporter, exporter_thread = start_http_server(
        exporter_port, addr="127.0.0.1", registry=registry
    )
    started = time.time()
    base = tmp_path_factory.mktemp("prometheus")
    port, dead_port = free_port(), free_port()
    config = base / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 500ms\n"
        "scrape_configs:\n"
        "  - job_name: exporter\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{exporter_port}']}}]\n"
        "  - job_name: dead\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{dead_port}']}}]\n"
    )
    log = (base / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            prometheus_bin,
            f"--config.file={config}",
            f"--storage.tsdb.path={base / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = PrometheusServer(
        f"http://127.0.0.1:{port}", f"127.0.0.1:{exporter_port}", f"127.0.0.1:{dead_port}", started
    )
    try:
        with Prometheus(server.url, timeout=2) as prom:

            def ready() -> bool:
                if proc.poll() is not None:
                    pytest.fail(
                        f"prometheus exited: {(base / 'prometheus.log').read_text()[-2000:]}"
                    )
                try:
                    healths = {t.job: t.health for t in prom.targets()}
                    return (
                        prom.scalar("opslib_test_jobs_total") == 8 and healths.get("dead") == "down"
                    )
                except OpsError:  # still starting up
                    return False

            wait_until(ready, 30, "prometheus to scrape the exporter")
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()
        exporter.shutdown()
        exporter.server_close()
        exporter_thread.join(5)


# --- labelled containers ----------------------------------------------------------------------


@dataclass
class Containers:
    """Starts containers of one unique compose project; every one is removed at teardown."""

    client: docker.DockerClient
    project: str
    image: str

    def run(
        self,
        service: str,
        program: str,
        *,
        number: int = 1,
        healthcheck: list[str] | None = None,
        mounts: dict[str, dict[str, str]] | None = None,
        **options: Any,
    ) -> str:
        """Run ``program`` (Python source) as ``<project>-<service>-<number>``; return its name."""
        name = f"{self.project}-{service}-{number}"
        volumes = python_mounts(_SOURCE)
        volumes.update(mounts or {})
        if healthcheck is not None:
            options["healthcheck"] = {
                "test": ["CMD", *healthcheck],
                "interval": 300_000_000,
                "timeout": 2_000_000_000,
                "retries": 1,
            }
        self.client.containers.run(
            self.image,
            [PYTHON, "-u", "-c", program],
            name=name,
            detach=True,
            network_mode="host",
            volumes=volumes,
            labels={
                "com.docker.compose.project": self.project,
                "com.docker.compose.service": service,
                "com.docker.compose.container-number": str(number),
                TEST_LABEL: self.project,
            },
            **options,
        )
        return name

    def remove(self, name: str) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            self.client.containers.get(name).remove(force=True)

    def remove_all(self) -> None:
        for container in self.client.containers.list(
            all=True, filters={"label": f"{TEST_LABEL}={self.project}"}
        ):
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)


@pytest.fixture(scope="module")
def containers(docker_client: docker.DockerClient) -> Iterator[Containers]:
    group = Containers(
        docker_client, f"opslib-test-{uuid.uuid4().hex[:10]}", ensure_image(docker_client)
    )
    try:
        yield group
    finally:
        group.remove_all()
