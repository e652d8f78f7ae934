"""The lab: a small, real price-monitoring stack on 127.0.0.1, started, stopped and broken here."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import secrets
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Literal

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from opslib.adapters import Database
from opslib.audit import AuditLog
from opslib.config import load_settings, toml_value
from opslib.connect import open_database
from opslib.errors import LabError, OpsError
from opslib.lab._api import access_log, api_port
from opslib.lab._backfill import backfill
from opslib.lab._containers import (
    WorkerContainers,
    container_pid,
    docker_client,
    docker_reachable,
    health,
)
from opslib.lab._control import ControlFile, FaultRecord, initial_control
from opslib.lab._faults import FAULTS, heal_fault, inject_fault, normalise_target
from opslib.lab._paths import LabPaths, load_recorded
from opslib.lab._pool import register_proxies
from opslib.lab._postgres import PostgresCluster
from opslib.lab._procs import Supervisor, child_env, process_alive
from opslib.lab._prometheus import (
    find_node_exporter,
    find_promtool,
    node_exporter_argv,
    prometheus_argv,
    scraped_workers,
)
from opslib.lab._seed import seed, seeded
from opslib.lab._settings import LabSettings
from opslib.lab._tls import start_tls, updates_config
from opslib.migrations import migrate
from opslib.redact import redact

__all__ = ["ComponentStatus", "FaultStatus", "Lab", "LabStatus", "lab_thresholds"]

_log = logging.getLogger("opslib.lab")

UP_TIMEOUT = 55.0
_LOCK_TIMEOUT = 120.0
_POLL = 0.2
Mode = Literal["docker", "local"]


class ComponentStatus(BaseModel):
    """One server or worker of the lab."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: Literal["cluster", "database", "process", "container"]
    running: bool
    expected: bool = True  # False while a fault keeps it stopped
    pid: int | None = None
    container: str | None = None
    ports: tuple[int, ...] = ()
    detail: str = ""


class FaultStatus(BaseModel):
    """An injected fault that is still active."""

    model_config = ConfigDict(frozen=True)

    name: str
    target: str | None
    since: datetime
    description: str


class LabStatus(BaseModel):
    """What runs, where, and which faults are active."""

    model_config = ConfigDict(frozen=True)

    project: str
    state_dir: Path
    mode: Mode | None = None
    config_file: Path | None = None
    components: tuple[ComponentStatus, ...] = ()
    faults: tuple[FaultStatus, ...] = ()

    @property
    def running(self) -> bool:
        """Every component that should run does."""
        return bool(self.components) and all(c.running for c in self.components if c.expected)

    @property
    def stopped(self) -> bool:
        """Nothing of the lab runs."""
        return not any(c.running for c in self.components)

    def component(self, name: str) -> ComponentStatus:
        for found in self.components:
            if found.name == name:
                return found
        raise KeyError(name)


class _Runtime(BaseModel):
    mode: Mode
    external_db: bool = False


def lab_thresholds(settings: LabSettings) -> dict[str, dict[str, float]]:
    """Threshold overrides for the lab's scale (a few hundred URLs, ~10 scrapes/s)."""
    rate, urls = settings.scrape_rate, settings.urls
    queue = {"warn": max(10, urls // 4), "crit": max(25, int(urls * 0.6))}
    return {
        "health.error_rate": {"warn": round(0.05 * rate, 3), "crit": round(0.15 * rate, 3)},
        "performance.processing_rate": {"warn": round(0.3 * rate, 3), "crit": round(0.1 * rate, 3)},
        "performance.queue_growth": dict(queue),
        "performance.queue_size": dict(queue),
        # One proxy per country, six in all: one bad proxy is a sixth of the pool.
        "proxies.healthy_count": {"warn": 6, "crit": 5},
        "proxies.healthy_share": {"warn": 0.99, "crit": 0.8},
        "proxies.p95_latency": {"warn": 500, "crit": 1500},
    }


def _exporter() -> list[str]:
    """The node_exporter's process name when it is installed (the lab then runs it)."""
    return ["node-exporter"] if find_node_exporter() is not None else []


def _http_ok(url: str, proxy: str | None = None) -> bool:
    try:
        response = httpx.get(url, proxy=proxy, timeout=1.5, trust_env=False)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


class Lab:
    """One lab, identified by its state directory. ``with Lab(s) as lab`` brings it up and
    always takes it down again."""

    def __init__(self, settings: LabSettings | None = None) -> None:
        self._requested = settings if settings is not None else LabSettings()
        self.paths = LabPaths(self._requested.state_dir)
        self.supervisor = Supervisor(self.paths.run_dir, self.paths.log_dir)
        self.control = ControlFile(self.paths.control)
        self._recorded: LabSettings | None = None

    def __repr__(self) -> str:
        return f"Lab({str(self.paths.root)!r})"

    def __enter__(self) -> Lab:
        try:
            self.up()
        except BaseException:
            self.down()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.down()

    # what it is

    @property
    def settings(self) -> LabSettings:
        """The settings the lab runs with: those recorded by ``up``, else those given."""
        if self._recorded is None and self.paths.settings.exists():
            recorded = load_recorded(self.paths.root)
            self._recorded = recorded.model_copy(
                update={"state_dir": self.paths.root, "database_dsn": self._requested.database_dsn}
            )
        return self._recorded or self._requested

    @property
    def textfile_dir(self) -> Path:
        """Where the lab's node_exporter reads check results (``--ops-prometheus DIR/x.prom``)."""
        return self.paths.root / "textfile"

    @property
    def config_file(self) -> Path:
        """``<state_dir>/opslib.toml`` for :func:`opslib.config.load_settings` (mode 0600)."""
        return self.paths.config

    @property
    def domains(self) -> list[str]:
        """The shop domains, e.g. ``alpha-shop.test``."""
        return self.settings.domain_names

    def database(self) -> Database:
        """A connection to the lab's database (from the config file written by ``up``)."""
        if not self.paths.config.exists():
            raise LabError(f"the lab in {self.paths.root} is not up (no {self.paths.config.name})")
        settings = load_settings(self.paths.config)
        if settings.database_dsn is None:
            raise LabError(f"{self.paths.config} has no database_dsn")
        return open_database(settings, application_name="opslib-lab")

    # lifecycle

    def up(self) -> LabStatus:
        """Start whatever is not running yet; return when everything answers (<= 60 s)."""
        started = time.monotonic()
        self._claim_dir()
        with self._locked():
            settings = self._record_settings()
            runtime = self._record_runtime(settings)
            if not self.paths.control.exists():
                self.control.write(initial_control(settings))
            py = [sys.executable, "-m"]
            root = str(self.paths.root)
            env = child_env()
            self.supervisor.start("shop", [*py, "opslib.lab._shop", "--state-dir", root], env=env)
            self.supervisor.start(
                "proxies", [*py, "opslib.lab._proxy", "--state-dir", root], env=env
            )
            start_tls(self.supervisor, self.paths.root, env)
            self._start_exporter(settings, env)
            self._start_prometheus(settings, env)
            dsn = self._ensure_database(settings, runtime)
            self._write_config(settings, dsn, runtime)
            self.supervisor.start("api", [*py, "opslib.lab._api", "--state-dir", root], env=env)
            stopped = self._stopped_by_fault()
            workers = [i for i in range(1, settings.workers + 1) if i not in stopped]
            for index in workers:
                self._start_worker(index, runtime)
            self._wait_ready(settings, runtime, workers, started + UP_TIMEOUT)
            _log.info("lab up in %.1f s", time.monotonic() - started)
            return self._status()

    def down(self) -> None:
        """Stop and remove everything: containers, processes, the cluster, the state dir."""
        root = self.paths.root
        problems = self._remove_containers()
        if not root.exists():
            if problems:
                raise LabError(f"lab down incomplete: {'; '.join(problems)}")
            return
        if not self.paths.marker.exists():
            if any(root.iterdir()):
                raise LabError(f"{root} is not a lab's state directory; not removing it")
            root.rmdir()
            return
        with self._locked():
            self.supervisor.stop_all()
            try:
                self._stop_cluster()
            except LabError as exc:
                problems.append(str(exc))
            if problems:
                # Keep the state: a second `down` still knows what to stop.
                raise LabError(f"lab down incomplete, {root} kept: {'; '.join(problems)}")
            shutil.rmtree(root)
        self._recorded = None

    def status(self) -> LabStatus:
        """What runs (PIDs, containers, ports) and which faults are active."""
        if not self.paths.settings.exists():
            return LabStatus(project=self._requested.project, state_dir=self.paths.root)
        return self._status()

    # faults

    def inject(self, fault: str, target: str | None = None) -> str:
        """Inject ``fault`` (one of :data:`FAULTS`); return a one-line description."""
        if fault not in FAULTS:
            raise LabError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")
        with self._locked():
            self._require_up()
            target = normalise_target(fault, self.settings, target)
            active = self.control.read().faults.get(fault)
            if active is not None and active.target == target:
                return active.description
            if active is not None:
                self._heal_one(active)
            description = inject_fault(self, fault, target)
            control = self.control.read().model_copy(deep=True)
            control.faults[fault] = FaultRecord(
                name=fault, target=target, since=datetime.now(UTC), description=description
            )
            self.control.write(control)
        self._audit("lab.inject", {"fault": fault, "target": target}, description)
        return description

    def heal(self, fault: str | None = None) -> list[str]:
        """Undo ``fault`` (or every active fault); return what was done, one line each."""
        if fault is not None and fault not in FAULTS:
            raise LabError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")
        done = []
        with self._locked():
            if not self.paths.control.exists():
                return []
            active = sorted(
                self.control.read().faults.values(), key=lambda r: r.since, reverse=True
            )
            for record in active:
                if fault is None or record.name == fault:
                    done.append(self._heal_one(record))
        if done:
            self._audit("lab.heal", {"fault": fault}, "; ".join(done))
        return done

    # used by the faults

    def stop_worker(self, index: int) -> None:
        """Stop scraper ``index`` (its container, or its process)."""
        runtime = self._runtime()
        if runtime.mode == "docker":
            with docker_client() as client:
                WorkerContainers(client, self.settings, self.paths.root).stop(index)
        else:
            self.supervisor.stop(f"scraper-{index}")

    def start_worker(self, index: int) -> None:
        """Start scraper ``index`` and wait until its /metrics answers."""
        runtime = self._runtime()
        self._start_worker(index, runtime)
        self._wait_ready(self.settings, runtime, [index], time.monotonic() + 30, prometheus=False)

    # internals

    def _remove_containers(self) -> list[str]:
        """Remove the lab's containers (found by label); return what went wrong, if anything."""
        if not docker_reachable():
            try:
                docker_mode = self._runtime().mode == "docker"
            except LabError:
                docker_mode = False
            return (
                ["docker is not reachable: the workers' containers may remain"]
                if docker_mode
                else []
            )
        try:
            with docker_client() as client:
                removed = WorkerContainers(client, self.settings, self.paths.root).remove_all()
        except LabError as exc:
            return [str(exc)]
        _log.info("removed containers: %s", ", ".join(removed) or "none")
        return []

    def _heal_one(self, record: FaultRecord) -> str:
        description = heal_fault(self, record)
        control = self.control.read().model_copy(deep=True)
        control.faults.pop(record.name, None)
        self.control.write(control)
        return description

    def _claim_dir(self) -> None:
        root = self.paths.root
        root.mkdir(parents=True, exist_ok=True)
        # List first, then look for the marker: the marker is the first file a lab writes, so a
        # concurrent `up` that got ahead shows it by then (the other order raced and refused).
        if any(root.iterdir()) and not self.paths.marker.exists():
            raise LabError(f"{root} exists and is not a lab's state directory; choose another")
        root.chmod(0o755)  # the cluster's unprivileged user must reach pg/ inside
        self.paths.marker.touch()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.paths.lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + _LOCK_TIMEOUT
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise LabError(
                            f"another opslib lab command is busy with {self.paths.root}"
                        ) from None
                    time.sleep(_POLL)
            yield
        finally:
            os.close(fd)

    def _record_settings(self) -> LabSettings:
        exclude = {"database_dsn", "state_dir"}
        wanted = self._requested.model_dump(mode="json", exclude=exclude)
        if self.paths.settings.exists():
            recorded = load_recorded(self.paths.root).model_dump(mode="json", exclude=exclude)
            differ = sorted(k for k in wanted if wanted[k] != recorded.get(k))
            if differ:
                raise LabError(
                    f"the lab in {self.paths.root} runs with other settings ({', '.join(differ)}); "
                    "run `opslib lab down` first"
                )
        else:
            data = self._requested.model_dump(mode="json", exclude={"database_dsn"})
            self.paths.settings.write_text(json.dumps(data, indent=1))
        self._recorded = None
        return self.settings

    def _runtime(self) -> _Runtime:
        try:
            return _Runtime.model_validate_json(self.paths.runtime.read_bytes())
        except FileNotFoundError as exc:
            raise LabError(f"the lab in {self.paths.root} is not up") from exc
        except ValidationError as exc:
            raise LabError(f"{self.paths.runtime} is unreadable: {exc}") from exc

    def _record_runtime(self, settings: LabSettings) -> _Runtime:
        if self.paths.runtime.exists():
            return self._runtime()
        if settings.use_docker is None:
            mode: Mode = "docker" if docker_reachable() else "local"
        else:
            mode = "docker" if settings.use_docker else "local"
        runtime = _Runtime(mode=mode, external_db=settings.database_dsn is not None)
        self.paths.runtime.write_text(runtime.model_dump_json())
        return runtime

    def _require_up(self) -> None:
        if not self.paths.runtime.exists() or not self.paths.config.exists():
            raise LabError(f"the lab in {self.paths.root} is not up; run `opslib lab up`")

    def _cluster(self, settings: LabSettings) -> PostgresCluster:
        return PostgresCluster(self.paths.postgres, settings.postgres_port)

    def _ensure_database(self, settings: LabSettings, runtime: _Runtime) -> SecretStr:
        if runtime.external_db:
            if settings.database_dsn is None:
                raise LabError("this lab uses an external database: pass its database_dsn")
            dsn = settings.database_dsn
        else:
            cluster = self._cluster(settings)
            if not cluster.initialised():
                shutil.rmtree(cluster.data_dir, ignore_errors=True)  # a half-done initdb
                cluster.init()
            if not cluster.running():
                cluster.start()
            dsn = SecretStr(cluster.dsn)
        with Database(dsn, statement_timeout=120, application_name="opslib-lab") as db:
            migrate(db, ("opslib", "platform"))
            register_proxies(db, settings)
            if not seeded(db):
                begin = time.monotonic()
                seed(db, settings, datetime.now(UTC))
                _log.info("seeded in %.1f s", time.monotonic() - begin)
        return dsn

    def _start_exporter(self, settings: LabSettings, env: dict[str, str]) -> None:
        binary = find_node_exporter()
        if binary is None:
            _log.warning("prometheus-node-exporter not found: check results are not scraped")
            return
        argv = node_exporter_argv(binary, settings, self.textfile_dir)
        self.supervisor.start("node-exporter", argv, env=env)

    def _start_prometheus(self, settings: LabSettings, env: dict[str, str]) -> None:
        if self.supervisor.pid("prometheus") is not None:
            return
        argv = prometheus_argv(settings, self.paths.prometheus)
        storage = self.paths.prometheus / "data"
        promtool = find_promtool()
        if not storage.exists() and promtool is not None:
            backfill(settings, storage, time.time(), promtool)
        elif promtool is None:
            _log.warning("promtool not found: Prometheus starts without history")
        self.supervisor.start("prometheus", argv, env=env)

    def _stop_cluster(self) -> None:
        if not (self.paths.postgres / "pgdata").exists():
            return
        cluster = self._cluster(self.settings)
        cluster.stop()
        pid_file = cluster.data_dir / "postmaster.pid"
        if not cluster.running():
            return
        # pg_ctl could not stop it: the postmaster in our own data directory gets SIGQUIT.
        pid = int(pid_file.read_text().split()[0])
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGQUIT)
        for _ in range(100):
            if not process_alive(pid):
                return
            time.sleep(0.05)
        raise LabError(f"PostgreSQL (PID {pid}) in {cluster.data_dir} does not stop")

    def _write_config(self, settings: LabSettings, dsn: SecretStr, runtime: _Runtime) -> None:
        metrics = [f"http://127.0.0.1:{p}/metrics" for p in settings.metrics_ports]
        backups = self.paths.root / "backups"
        backups.mkdir(mode=0o700, exist_ok=True)
        lines = [
            f"# Written by `opslib lab up` for the lab in {self.paths.root}.",
            "# It holds the database password: keep it private (mode 0600).",
            f"platform_name = {toml_value(f'the opslib lab in {self.paths.root}')}",
            f"database_dsn = {toml_value(dsn)}",
            f"prometheus_url = {toml_value(f'http://127.0.0.1:{settings.prometheus_port}')}",
            f"metrics_urls = {toml_value(metrics)}",
            f"compose_project = {toml_value(settings.project)}",
            'scraper_service = "scraper"',
            'expected_services = ["scraper"]',
            "# The lab runs time-compressed (a scrape per URL every ~30 s, not hourly), so the",
            "# windows that judge 'now' are minutes: a fault shows within a minute, not an hour.",
            'error_window = "1m"',
            "recent_minutes = 1",
            "proxy_window_minutes = 10",
            "",
            "[proxies]",
            f"judge_url = {toml_value(f'http://127.0.0.1:{settings.shop_port}/judge')}",
            f"test_timeout = {toml_value(2.0)}",
            f"test_deadline = {toml_value(20.0)}",
            "# fetched by `opslib proxies test --targets`: a shop that bans a proxy fails it",
            "target_urls = "
            + toml_value([f"http://{d}:{settings.shop_port}/" for d in settings.domain_names[:2]]),
            f"health_sample = {toml_value(3)}",
            "# time-compressed like the rest of the lab",
            f"decay_seconds = {toml_value(120.0)}",
            f"backoff_base = {toml_value(10.0)}",
            f"backoff_max = {toml_value(120.0)}",
            f"lease_seconds = {toml_value(30.0)}",
            f"ban_window_hours = {toml_value(1)}",
            f"required_countries = {{{', '.join(f'{c} = 1' for _l, c, _p in settings.proxies)}}}",
            "",
            "# opslib sites verify: no DNS knows the shops' .test names; they are the lab's shop",
            "[sites]",
            'resolve = { "*.test" = "127.0.0.1" }',
            "",
            "# the API's access log (opslib security analyze, checks/emergency/security)",
            "[security]",
            f"access_logs = {toml_value([str(access_log(self.paths.root))])}",
            'window = "1m"',
            f"cache_seconds = {toml_value(1.0)}",
            "# API keys are stored as HMAC-SHA256 under this pepper (opslib keys)",
            f"key_pepper = {toml_value(secrets.token_urlsafe(24))}",
            "",
            "# opslib backup create / verify and checks/monthly work on the lab as they are",
            "[backups]",
            f"backup_dir = {toml_value(str(backups))}",
            f"config_paths = {toml_value([str(self.paths.settings)])}",
            "min_count = 1",
        ]
        if runtime.mode == "local":
            lines.append("# workers run as local processes: no containers to find")
            logs = [str(self.supervisor.log_file(f"scraper-{i}")) for i in range(settings.workers)]
            lines += ["", "# their logs (checks/emergency/high_error_rate)", "[logs]"]
            lines.append(f"files = {toml_value(logs)}")
        lines += updates_config(self.paths.root)
        for name, limits in sorted(lab_thresholds(settings).items()):
            lines += ["", f"[thresholds.{toml_value(name)}]"]
            lines += [f"{key} = {toml_value(value)}" for key, value in limits.items()]
        # Last: the fault disk-filling appends capacity.database_volume_bytes to this table.
        per_replica = settings.urls * settings.history_volume * 24 * 0.7
        lines += [
            "",
            "# opslib capacity report: a replica carries 70 % of today's seeded requests per day",
            "[capacity]",
            f"requests_per_replica = {toml_value(per_replica)}",
        ]
        fd = os.open(self.paths.config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write("\n".join(lines) + "\n")

    def _stopped_by_fault(self) -> set[int]:
        record = self.control.read().faults.get("scraper-stopped")
        if record is None or record.target is None:
            return set()
        return {int(record.target.rsplit("-", 1)[1])}

    def _start_worker(self, index: int, runtime: _Runtime) -> None:
        if runtime.mode == "docker":
            with docker_client() as client:
                WorkerContainers(client, self.settings, self.paths.root).start(index)
            return
        argv = [
            sys.executable,
            "-m",
            "opslib.lab._worker",
            "--state-dir",
            str(self.paths.root),
            "--index",
            str(index),
        ]
        self.supervisor.start(f"scraper-{index}", argv, env=child_env())

    def _wait_ready(
        self,
        settings: LabSettings,
        runtime: _Runtime,
        workers: list[int],
        deadline: float,
        *,
        prometheus: bool = True,
    ) -> None:
        shop = f"http://127.0.0.1:{settings.shop_port}/health"
        via = f"http://{settings.domain_names[0]}:{settings.shop_port}/health"
        checks: dict[str, Callable[[], bool]] = {"shop": lambda: _http_ok(shop)}
        checks["api"] = lambda: _http_ok(f"http://127.0.0.1:{api_port(settings)}/health")
        if prometheus:
            for label, country, _port in settings.proxies:
                checks[f"proxy {country}"] = lambda label=label: _http_ok(via, proxy=label)  # type: ignore[misc]
        for index in workers:
            url = f"http://127.0.0.1:{settings.metrics_ports[index - 1]}/metrics"
            checks[settings.worker_name(index)] = lambda url=url: _http_ok(url)  # type: ignore[misc]
        if prometheus:
            wanted = {f"127.0.0.1:{settings.metrics_ports[i - 1]}" for i in workers}
            checks["prometheus"] = lambda: wanted <= scraped_workers(settings)
            exporter = f"http://127.0.0.1:{settings.exporter_port}/metrics"
            for name in _exporter():
                checks[name] = lambda: _http_ok(exporter)
        with contextlib.ExitStack() as stack:
            containers = None
            if runtime.mode == "docker":
                client = stack.enter_context(docker_client())
                containers = WorkerContainers(client, settings, self.paths.root)
                for index in workers:
                    checks[f"{settings.worker_name(index)} healthy"] = (
                        lambda index=index: self._healthy(containers, index)  # type: ignore[misc]
                    )
            while True:
                for name in [n for n, check in checks.items() if check()]:
                    del checks[name]
                if not checks:
                    return
                self._fail_fast(runtime, workers, containers)
                if time.monotonic() > deadline:
                    raise LabError(
                        f"lab not ready in time: still waiting for {', '.join(checks)}"
                        f"{self._log_tails()}; `opslib lab down` cleans up"
                    )
                time.sleep(_POLL)

    @staticmethod
    def _healthy(containers: WorkerContainers | None, index: int) -> bool:
        found = containers.get(index) if containers else None
        return found is not None and health(found) == "healthy"

    def _fail_fast(
        self, runtime: _Runtime, workers: list[int], containers: WorkerContainers | None
    ) -> None:
        names = ["shop", "proxies", "prometheus", *_exporter()]
        if runtime.mode == "local":
            names += [f"scraper-{i}" for i in workers]
        dead = [name for name in names if self.supervisor.pid(name) is None]
        if containers is not None:
            for index in workers:
                found = containers.get(index)
                if found is None or found.status in ("exited", "dead"):
                    dead.append(self.settings.worker_name(index))
        if dead:
            raise LabError(
                f"lab component(s) died while starting: {', '.join(dead)}{self._log_tails(dead)}"
                "; `opslib lab down` cleans up"
            )

    def _log_tails(self, names: list[str] | None = None) -> str:
        tails = []
        for name in names if names is not None else self.supervisor.names():
            log = self.supervisor.log_file(name)
            if log.exists():
                lines = log.read_text(errors="replace").strip().splitlines()[-3:]
                if lines:
                    tails.append(f"\n  {name}: " + "\n  ".join(lines))
        return redact("".join(tails))

    def _status(self) -> LabStatus:
        settings = self.settings
        try:
            runtime: _Runtime | None = self._runtime()
        except LabError:
            runtime = None
        control = self.control.read() if self.paths.control.exists() else None
        stopped = self._stopped_by_fault() if control else set()
        components = [self._database_status(settings, runtime)]
        for name, ports in (
            ("shop", (settings.shop_port,)),
            ("proxies", settings.proxy_ports),
            ("prometheus", (settings.prometheus_port,)),
            *((name, (settings.exporter_port,)) for name in _exporter()),
        ):
            pid = self.supervisor.pid(name)
            components.append(
                ComponentStatus(
                    name=name, kind="process", running=pid is not None, pid=pid, ports=ports
                )
            )
        components += self._worker_status(settings, runtime, stopped)
        faults = tuple(
            FaultStatus(name=r.name, target=r.target, since=r.since, description=r.description)
            for r in (control.faults.values() if control else ())
        )
        return LabStatus(
            project=settings.project,
            state_dir=self.paths.root,
            mode=runtime.mode if runtime else None,
            config_file=self.paths.config if self.paths.config.exists() else None,
            components=tuple(components),
            faults=faults,
        )

    def _database_status(self, settings: LabSettings, runtime: _Runtime | None) -> ComponentStatus:
        if runtime is not None and runtime.external_db:
            try:
                with self.database() as db:
                    db.probe()
                running = True
            except OpsError:
                running = False
            return ComponentStatus(
                name="postgres", kind="database", running=running, detail="external"
            )
        cluster = self._cluster(settings)
        pid = None
        if cluster.running():
            pid = int((cluster.data_dir / "postmaster.pid").read_text().split()[0])
        return ComponentStatus(
            name="postgres",
            kind="cluster",
            running=pid is not None,
            pid=pid,
            ports=(settings.postgres_port,),
        )

    def _worker_status(
        self, settings: LabSettings, runtime: _Runtime | None, stopped: set[int]
    ) -> list[ComponentStatus]:
        found: list[ComponentStatus] = []
        indexes = range(1, settings.workers + 1)
        if runtime is not None and runtime.mode == "docker":
            try:
                with docker_client() as client:
                    containers = WorkerContainers(client, settings, self.paths.root)
                    by_name = {c.name: c for c in containers.all()}
                    for index in indexes:
                        name = settings.worker_name(index)
                        container = by_name.get(name)
                        state = health(container) if container is not None else "absent"
                        found.append(
                            ComponentStatus(
                                name=name,
                                kind="container",
                                running=container is not None and container.status == "running",
                                expected=index not in stopped,
                                pid=container_pid(container) if container is not None else None,
                                container=name,
                                ports=(settings.metrics_ports[index - 1],),
                                detail=state,
                            )
                        )
                    return found
            except LabError as exc:
                detail = str(exc)
                return [
                    ComponentStatus(
                        name=settings.worker_name(i),
                        kind="container",
                        running=False,
                        expected=i not in stopped,
                        detail=detail,
                    )
                    for i in indexes
                ]
        for index in indexes:
            pid = self.supervisor.pid(f"scraper-{index}")
            found.append(
                ComponentStatus(
                    name=settings.worker_name(index),
                    kind="process",
                    running=pid is not None,
                    expected=index not in stopped,
                    pid=pid,
                    ports=(settings.metrics_ports[index - 1],),
                )
            )
        return found

    def _audit(self, action: str, arguments: dict[str, str | None], detail: str) -> None:
        try:
            with self.database() as db:
                AuditLog(db).record(action, arguments, dry_run=False, outcome="ok", detail=detail)
        except OpsError as exc:
            # The lab changed as asked; a missing audit row must not hide that.
            _log.warning("audit entry for %s not written: %s", action, exc)
