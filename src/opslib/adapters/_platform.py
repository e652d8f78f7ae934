"""The compose platform through the Docker Engine API: containers, resource usage, events, logs.

Containers belong to the project by the compose labels, so no compose CLI is needed; the
running task containers of the swarm services named ``<project>_<service>`` (as ``docker stack
deploy`` names them) belong to it too, by their swarm labels.
"""

from __future__ import annotations

import heapq
import json
import logging
import math
import re
import socket
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar
from urllib.parse import quote

try:
    import docker
    import docker.errors
    import requests
    from docker.types import CancellableStream
    from docker.utils import kwargs_from_env, parse_host
except ModuleNotFoundError as exc:  # the lean install: Platform() says what to install
    _MISSING: ModuleNotFoundError | None = exc
else:
    _MISSING = None

from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from opslib.adapters import _cgroup
from opslib.adapters._http import one_line
from opslib.adapters._time import parse_timestamp, unix_seconds
from opslib.errors import ConfigError, DataError, DependencyError, UnreachableError
from opslib.redact import redact

__all__ = [
    "ContainerInfo",
    "ContainerUsage",
    "ImageInfo",
    "LogLine",
    "Platform",
    "unix_socket_error",
]

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
NUMBER_LABEL = "com.docker.compose.container-number"
WORKING_DIR_LABEL = "com.docker.compose.project.working_dir"
CONFIG_FILES_LABEL = "com.docker.compose.project.config_files"
SWARM_SERVICE_LABEL = "com.docker.swarm.service.name"
SWARM_TASK_LABEL = "com.docker.swarm.task.name"  # <swarm service>.<slot>.<task id>
_NAME = "docker"
_MAX_WORKERS = 8
_ERRNO = re.compile(r"\[Errno -?\d+\][^'\")]*")
_log = logging.getLogger("opslib.adapters")
_MAX_LOG_LINE = 1 << 20
_EPOCH = datetime.min.replace(tzinfo=UTC)

_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass(frozen=True)
class ContainerInfo:
    """One container of the project, in any state."""

    id: str
    name: str
    service: str
    number: int | None
    state: str  # running, exited, restarting, paused, created, dead
    health: str | None  # healthy, unhealthy, starting; None without a healthcheck
    restart_count: int
    started_at: datetime | None
    exit_code: int | None  # None while it has not exited (running, paused, created)
    image: str
    restart_policy: str = "no"  # no, always, unless-stopped, on-failure (compose `restart:`)
    image_id: str = ""  # the image it runs (sha256:...), whatever its tag now names
    working_dir: str = ""  # compose's project directory (label), "" when not made by compose
    config_files: tuple[str, ...] = ()  # the compose files it was made from (label)

    @property
    def running(self) -> bool:
        return self.state == "running"


@dataclass(frozen=True)
class ContainerUsage:
    """CPU and memory of one running container, computed as ``docker stats`` does."""

    name: str
    service: str
    cpu_percent: float  # 100 = one full CPU
    memory_bytes: int  # page cache excluded
    memory_limit_bytes: int  # host memory when the container has no limit

    @property
    def memory_percent(self) -> float:
        """Memory use as a percentage of the limit; NaN when the engine reported no limit."""
        if self.memory_limit_bytes <= 0:
            return math.nan
        return 100.0 * self.memory_bytes / self.memory_limit_bytes


@dataclass(frozen=True)
class ImageInfo:
    """A local image: its id, when it was built, and the registry digests it is known by."""

    id: str
    created: datetime | None
    tags: tuple[str, ...] = ()
    repo_digests: tuple[str, ...] = ()  # empty for an image built here, never pushed or pulled


@dataclass(frozen=True)
class LogLine:
    """One log line; ``at`` is the engine's timestamp of it."""

    container: str
    at: datetime | None
    text: str


class Platform:
    """The containers of one compose ``project`` on a Docker engine (connected on first use)."""

    def __init__(
        self, project: str, *, docker_host: str | None = None, timeout: float = 10.0
    ) -> None:
        if _MISSING is not None:
            raise ConfigError(
                f"the Docker adapter needs the {_MISSING.name} package: pip install 'opslib[cli]'"
            )
        self.project = project
        self._host = docker_host
        self._timeout = timeout
        self._client: docker.DockerClient | None = None

    def __repr__(self) -> str:
        return f"Platform({self.project!r}, docker_host={redact(self._host or 'default')!r})"

    def probe(self) -> str:
        """The engine's version, or UnreachableError."""
        return self._api(lambda: str(self._docker().version()["Version"]))

    def containers(self, service: str | None = None, *, swarm: bool = True) -> list[ContainerInfo]:
        """The project's containers (all states), sorted by service and number.

        With ``swarm``, also the running task containers of the swarm services
        ``<project>_<service>``: their service is the name without the project, their number
        the task's slot. A swarm keeps stopped tasks' containers as history and replaces
        failed ones itself, so only running ones count."""
        labels = [f"{PROJECT_LABEL}={self.project}"]
        if service is not None:
            labels.append(f"{SERVICE_LABEL}={service}")
        api = self._docker_api()
        summaries = self._api(lambda: api.containers(all=True, filters={"label": labels}))
        ids = [str(s["Id"]) for s in summaries]
        if swarm:
            name = None if service is None else f"{self.project}_{service}"
            tasks = self._api(
                lambda: api.containers(
                    filters={"label": [SWARM_SERVICE_LABEL if name is None
                                       else f"{SWARM_SERVICE_LABEL}={name}"]}
                )
            )  # fmt: skip
            ids += [
                str(t["Id"])
                for t in tasks
                if swarm_service(t.get("Labels") or {}, self.project) is not None
            ]
        found = self._each(ids, self._inspect)
        return sorted(found, key=lambda c: (c.service, c.number is None, c.number or 0, c.name))

    def services(self) -> dict[str, list[ContainerInfo]]:
        """The project's containers grouped by service."""
        grouped: dict[str, list[ContainerInfo]] = {}
        for container in self.containers():
            grouped.setdefault(container.service, []).append(container)
        return grouped

    def usage(
        self,
        containers: Sequence[ContainerInfo] | None = None,
        *,
        sample_seconds: float = 0.5,
        source: Literal["auto", "cgroup", "engine"] = "auto",
    ) -> list[ContainerUsage]:
        """CPU and memory of the running ``containers`` (default: all of the project's).

        Two samples of every container ``sample_seconds`` apart; CPU % comes from the
        difference. ``source="cgroup"`` reads the containers' cgroup files on this host, so
        the call takes ``sample_seconds``; it needs an engine reached over a unix socket.
        ``source="engine"`` asks the Engine API for one-shot stats of all containers
        concurrently; engines that serve them from their 1-second collection cycle (20.10 to
        at least 23) answer each sample at the next cycle, so there it takes 1 to 2 s.
        ``"auto"`` reads the cgroup files when the engine is local and every container's
        cgroup is found, and asks the engine otherwise. Containers that stop or vanish
        meanwhile are left out.
        """
        if source not in ("auto", "cgroup", "engine"):
            raise ValueError(f"source must be 'auto', 'cgroup' or 'engine', not {source!r}")
        if source == "cgroup" and not self._engine_is_local():
            raise ConfigError(
                f"{_NAME}: usage source 'cgroup' reads this host's cgroup files, but the engine "
                f"at {redact(self._engine_address() or '')} is not on a local unix socket; "
                "use source 'auto' or 'engine'"
            )
        chosen = [c for c in (self.containers() if containers is None else containers) if c.running]
        if not chosen:
            return []
        cgroups = self._cgroups(chosen, required=source == "cgroup") if source != "engine" else None
        if cgroups is not None:
            return self._cgroup_usage(chosen, cgroups, sample_seconds)
        return self._engine_usage(chosen, sample_seconds)

    def restarts_since(self, since: datetime) -> dict[str, int]:
        """Container id -> number of times it died since ``since`` (engine ``die`` events).

        Keyed by id, not name: a container removed and recreated under the same name (a redeploy)
        did not restart.

        The engine keeps only its latest few hundred events, so on a busy engine a long window
        can undercount; :attr:`ContainerInfo.restart_count` is the lifetime count.
        """
        start, now = unix_seconds(since), time.time()
        if start >= now:
            return {}
        filters = {
            "type": ["container"],
            "event": ["die"],
            "label": [f"{PROJECT_LABEL}={self.project}"],
        }
        params = {
            "since": _engine_time(start),
            "until": _engine_time(now),
            "filters": json.dumps(filters),
        }
        with self._translate():
            api = self._docker().api
            # APIClient.events() reads without any timeout; a plain GET of the finite range has one.
            response = api.get(
                f"{api.base_url}/v{api.api_version}/events", params=params, timeout=self._timeout
            )
        if response.status_code >= 400:
            raise DependencyError(
                _NAME, f"events: HTTP {response.status_code}: {one_line(response.text)}"
            )
        counts: dict[str, int] = {}
        for event in _json_stream(response.text):
            actor = event.get("Actor")
            ident = actor.get("ID") if isinstance(actor, dict) else None
            ident = ident or event.get("id")
            if ident and event.get("Action", event.get("status")) == "die":
                counts[str(ident)] = counts.get(str(ident), 0) + 1
        return counts

    def logs(self, service: str, since: datetime, *, tail: int | None = None) -> list[LogLine]:
        """Log lines (stdout and stderr) of every container of ``service`` since ``since``.

        Lines are merged in time order; ``tail`` keeps only the last ``tail`` of them.
        """
        start = unix_seconds(since)
        containers = self.containers(service)

        def read(container: ContainerInfo) -> list[LogLine]:
            raw = self._docker().api.logs(
                container.id,
                timestamps=True,
                since=max(start, 0.001),
                tail="all" if tail is None else max(tail, 0),
            )
            return _log_lines(container.name, raw, start)

        lines = [line for chunk in self._each(containers, read) for line in chunk]
        lines.sort(key=lambda line: line.at or datetime.min.replace(tzinfo=UTC))
        return lines if tail is None else lines[-tail:] if tail > 0 else []

    def stream_logs(self, service: str, since: datetime) -> Iterator[LogLine]:
        """Like :meth:`logs`, but streamed: lines are read as they are consumed (each read
        bounded by the timeout), never all held; the containers' streams are merged by time
        (each in the engine's order)."""
        start = unix_seconds(since)

        def open_stream(container: ContainerInfo) -> CancellableStream[bytes] | None:
            try:
                return self._docker().api.logs(
                    container.id,
                    stream=True,
                    follow=False,
                    timestamps=True,
                    since=max(start, 0.001),
                )
            except docker.errors.NotFound:
                return None  # removed since it was listed

        def read(container: ContainerInfo) -> Iterator[LogLine]:
            chunks = self._api(lambda: open_stream(container))
            if chunks is None:
                return
            pending = b""
            with self._translate(), closing(chunks):
                for chunk in chunks:
                    *rows, pending = (pending + chunk).split(b"\n")
                    if len(pending) > _MAX_LOG_LINE:  # the engine splits at 16 KiB anyway
                        rows, pending = [*rows, pending], b""
                    for row in rows:
                        yield from _log_lines(container.name, row, start)
            yield from _log_lines(container.name, pending, start)

        streams = [read(c) for c in self.containers(service)]
        yield from heapq.merge(*streams, key=lambda line: line.at or _EPOCH)

    def stop(self, containers: Sequence[ContainerInfo], *, timeout: float = 10.0) -> list[str]:
        """Stop the running ``containers`` gracefully and concurrently (SIGTERM, SIGKILL after
        ``timeout`` seconds, as ``docker compose stop``); return the names of those stopped."""
        wait = max(0, math.ceil(timeout))

        def stop_one(container: ContainerInfo) -> str:
            self._docker().api.stop(container.id, timeout=wait)
            return container.name

        return self._each([c for c in containers if c.running], stop_one)

    def start(self, containers: Sequence[ContainerInfo]) -> list[str]:
        """Start the ``containers`` that are not running (as ``docker compose start``); return
        the names of those started. Containers removed meanwhile are left out."""

        def start_one(container: ContainerInfo) -> str:
            self._docker().api.start(container.id)
            return container.name

        return self._each([c for c in containers if not c.running], start_one)

    def image(self, name: str) -> ImageInfo | None:
        """The local image ``name`` (a tag or an id); None when there is none."""

        def inspect() -> ImageInfo | None:
            try:
                raw = self._docker().api.inspect_image(name)  # type: ignore[no-untyped-call]
            except docker.errors.ImageNotFound:
                return None
            return ImageInfo(
                id=str(raw["Id"]),
                created=parse_timestamp(str(raw.get("Created", ""))),
                tags=tuple(raw.get("RepoTags") or ()),
                repo_digests=tuple(raw.get("RepoDigests") or ()),
            )

        return self._api(inspect)

    def registry_digest(self, name: str) -> str:
        """The digest the registry holds for the tag ``name`` now (the engine asks it, within
        the timeout); UnreachableError or DependencyError when it does not answer."""
        with self._translate():
            api = self._docker().api
            url = f"{api.base_url}/v{api.api_version}/distribution/{quote(name, safe='/:@')}/json"
            try:
                response = api.get(url, timeout=self._timeout)
            except requests.exceptions.Timeout as exc:
                raise UnreachableError(
                    "registry", f"no answer for {name} within {self._timeout:g} s"
                ) from exc
        if response.status_code >= 400:
            raise UnreachableError(
                "registry", f"{name}: HTTP {response.status_code}: {_message(response)}"
            )
        digest = (response.json().get("Descriptor") or {}).get("digest")
        if not digest:
            raise DependencyError("registry", f"{name}: no digest in the engine's answer")
        return str(digest)

    def pull(self, name: str) -> str:
        """Pull the tag ``name`` (as ``docker compose pull``); the image id it now names."""
        repository, _, tag = (
            name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "")
        )
        with self._translate():
            api = self._docker().api
            for event in api.pull(repository, tag=tag or "latest", stream=True, decode=True):
                if isinstance(event, dict) and event.get("error"):
                    raise DependencyError(
                        "registry", f"pull {name}: {one_line(str(event['error']))}"
                    )
        found = self.image(name)
        if found is None:
            raise DependencyError(_NAME, f"pull {name}: no image afterwards")
        return found.id

    def build(self, context: str, tag: str, *, dockerfile: str | None = None) -> str:
        """Build the image ``tag`` from the directory ``context`` (never pulling a base image
        that is not here); the new image's id. DependencyError with the build's last words."""
        with self._translate():
            api = self._docker().api
            last = ""
            for event in api.build(
                path=context, tag=tag, dockerfile=dockerfile, rm=True, pull=False, decode=True
            ):
                if not isinstance(event, dict):
                    continue
                if event.get("error"):
                    raise DependencyError(_NAME, f"build {tag}: {one_line(str(event['error']))}")
                last = str(event.get("stream") or last).strip() or last
        found = self.image(tag)
        if found is None:
            raise DependencyError(_NAME, f"build {tag}: no image afterwards ({one_line(last)})")
        return found.id

    def recreate(self, container: ContainerInfo, *, timeout: float = 10.0) -> ContainerInfo:
        """Replace ``container`` by a new one from the image its tag names now, with the same
        configuration, name and labels (as ``docker compose up -d`` does for one container):
        create the new one, stop and rename the old one, start the new one, remove the old."""
        wait = max(0, math.ceil(timeout))

        def replace() -> str:
            api = self._docker().api
            raw = api.inspect_container(container.id)
            config = dict(raw["Config"])
            config["Image"] = container.image
            config["HostConfig"] = raw["HostConfig"]
            networks = (raw.get("NetworkSettings") or {}).get("Networks") or {}
            mode = str(raw["HostConfig"].get("NetworkMode") or "")
            if networks and mode not in ("host", "none") and not mode.startswith("container:"):
                config["NetworkingConfig"] = {
                    "EndpointsConfig": {
                        net: {"Aliases": ep.get("Aliases")} for net, ep in networks.items()
                    }
                }
            config.pop("Hostname", None) if mode == "host" else None
            temporary = f"{container.name}-opslib-new"
            url = f"{api.base_url}/v{api.api_version}/containers/create"
            response = api.post(url, json=config, params={"name": temporary}, timeout=self._timeout)
            if response.status_code >= 400:
                raise DependencyError(
                    _NAME, f"create {temporary}: HTTP {response.status_code}: {_message(response)}"
                )
            created = response.json()
            new_id = str(created["Id"])
            if container.running:
                api.stop(container.id, timeout=wait)
            api.rename(container.id, f"{container.name}-opslib-old")
            api.rename(new_id, container.name)
            api.start(new_id)
            api.remove_container(container.id, force=True)
            return new_id

        with self._translate():
            new_id = replace()
        return self._api(lambda: self._inspect(new_id))

    def image_names(self) -> list[str]:
        """The images the project's containers were created from (as configured), sorted."""
        return sorted({c.image for c in self.containers() if c.image})

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> Platform:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _docker(self) -> docker.DockerClient:
        if self._client is None:
            # Called inside _api (or _translate), which retries and translates what it raises.
            seconds = max(1, math.ceil(self._timeout))
            refused = unix_socket_error(self._engine_address(), self._timeout)
            if refused is not None:
                raise refused
            if self._host is None:
                self._client = docker.DockerClient.from_env(timeout=seconds)
            else:
                self._client = docker.DockerClient(base_url=self._host, timeout=seconds)
        return self._client

    def _engine_address(self) -> str | None:
        """The configured engine address; None for the default socket (as ``from_env`` reads it)."""
        return self._host if self._host is not None else kwargs_from_env().get("base_url")

    def _engine_is_local(self) -> bool:
        with self._translate():
            return str(parse_host(self._engine_address())).startswith("http+unix://")

    def _cgroups(
        self, chosen: Sequence[ContainerInfo], *, required: bool
    ) -> dict[str, _cgroup.Cgroup] | None:
        """The containers' cgroups on this host, or None (engine stats then) unless ``required``."""
        if not self._engine_is_local():
            address = redact(self._engine_address() or "")
            _log.debug("usage: engine at %s is not local: engine stats", address)
            return None
        found = _cgroup.find(c.id for c in chosen)
        missing = sorted(c.name for c in chosen if c.id not in found)
        if not missing:
            return found
        where = f"no cgroup under {_cgroup.ROOT} for {', '.join(missing)}"
        if required:
            raise DependencyError(_cgroup.NAME, where)
        _log.debug("usage: %s: engine stats for all %d containers", where, len(chosen))
        return None

    def _cgroup_usage(
        self,
        chosen: Sequence[ContainerInfo],
        cgroups: Mapping[str, _cgroup.Cgroup],
        sample_seconds: float,
    ) -> list[ContainerUsage]:
        version = next(iter(cgroups.values())).version
        _log.debug("usage: cgroup v%d files of %d containers", version, len(chosen))
        measured = _cgroup.sample(cgroups, sample_seconds)
        return [
            ContainerUsage(c.name, c.service, u.cpu_percent, u.memory_bytes, u.memory_limit_bytes)
            for c in chosen
            if (u := measured.get(c.id)) is not None
        ]

    def _engine_usage(
        self, chosen: Sequence[ContainerInfo], sample_seconds: float
    ) -> list[ContainerUsage]:
        _log.debug("usage: engine stats of %d containers", len(chosen))
        first = {stats["id"]: stats for stats in self._each(chosen, self._stats)}
        time.sleep(max(sample_seconds, 0.0))
        second = {stats["id"]: stats for stats in self._each(chosen, self._stats)}
        measured = (
            _usage(c, first[c.id], second[c.id]) for c in chosen if c.id in first and c.id in second
        )
        return [usage for usage in measured if usage is not None]

    def _inspect(self, container_id: str) -> ContainerInfo:
        return _info(self._docker().api.inspect_container(container_id), self.project)

    def _docker_api(self) -> docker.APIClient:
        return self._api(lambda: self._docker().api)

    def _stats(self, container: ContainerInfo) -> dict[str, Any]:
        stats: dict[str, Any] = self._docker().api.stats(container.id, stream=False, one_shot=True)
        stats["id"] = container.id
        return stats

    def _each(self, items: Sequence[_T], call: Callable[[_T], _R]) -> list[_R]:
        """``call`` on each item concurrently, in order, dropping items whose container is gone."""

        def found(item: _T) -> tuple[_R] | None:
            try:
                return (call(item),)
            except docker.errors.NotFound:
                return None

        def guarded(item: _T) -> tuple[_R] | None:
            return self._api(lambda: found(item))

        if not items:
            return []
        self._api(self._docker)  # connect once here, not racing in every worker
        with ThreadPoolExecutor(max_workers=min(len(items), _MAX_WORKERS)) as pool:
            return [result[0] for result in pool.map(guarded, items) if result is not None]

    def _api(self, call: Callable[[], _R]) -> _R:
        """``call`` against the engine, retried on transient failures (refused or reset while
        the engine restarts, a 502/503/504 from a proxy in front of it) within the timeout; a
        missing socket, a timeout or any other answer is not retried."""
        retrying = Retrying(
            retry=retry_if_exception(_transient),
            stop=stop_after_delay(self._timeout) | stop_after_attempt(10),
            wait=wait_exponential(multiplier=0.1, max=1.0),
            reraise=True,
        )
        with self._translate():
            for attempt in retrying:
                with attempt:
                    return call()
        raise AssertionError("unreachable: tenacity re-raises the last error")

    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except docker.errors.APIError as exc:
            raise DependencyError(_NAME, one_line(exc.explanation or str(exc))) from exc
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise self._unreachable(exc) from exc
        except docker.errors.DockerException as exc:
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
                raise self._unreachable(cause) from exc
            raise DependencyError(_NAME, one_line(str(exc))) from exc
        except OSError as exc:  # the engine's unix socket, tried before docker-py connects
            raise self._unreachable(exc) from exc

    def _unreachable(self, exc: requests.exceptions.RequestException | OSError) -> UnreachableError:
        where = redact(self._host or "the default engine socket")
        if isinstance(exc, requests.exceptions.Timeout | TimeoutError):
            return UnreachableError(_NAME, f"no answer from {where} within {self._timeout:g} s")
        found = _ERRNO.search(str(exc))
        reason = found[0].strip() if found else one_line(str(exc), limit=120)
        return UnreachableError(_NAME, f"cannot reach {where}: {reason}")


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, docker.errors.APIError):
        return exc.status_code in (502, 503, 504)
    if isinstance(exc, ConnectionRefusedError | ConnectionResetError):
        return True
    if isinstance(exc, requests.exceptions.Timeout):
        return False  # the whole timeout is spent already
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "No such file or directory" not in str(exc)
    return False


def unix_socket_error(address: str | None, timeout: float) -> OSError | None:
    """Why the engine's ``unix://`` socket does not answer (None when it does, or for other
    addresses); ``address`` as ``DOCKER_HOST`` has it, None for the default socket.

    docker-py leaves the socket of a failed unix connection to the garbage collector, an
    unclosed-socket ResourceWarning (docker/docker-py#3356), so a dead socket is found here
    first, with a socket that is closed either way.
    """
    url = str(parse_host(address))
    if not url.startswith("http+unix://"):
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(url.removeprefix("http+unix://"))
        except OSError as exc:
            return exc
    return None


def swarm_service(labels: Mapping[str, str], project: str) -> str | None:
    """The service of ``project`` a swarm task container belongs to (its swarm service's name
    after ``<project>_``), None when it is not a task of the project's."""
    name = str(labels.get(SWARM_SERVICE_LABEL) or "")
    prefix = f"{project}_"
    return name[len(prefix) :] if project and name.startswith(prefix) else None


def _info(raw: Mapping[str, Any], project: str = "") -> ContainerInfo:
    try:
        state = raw["State"]
        labels = raw["Config"].get("Labels") or {}
        status = str(state["Status"])
        number = labels.get(NUMBER_LABEL, "")
        service = labels.get(SERVICE_LABEL)
        if service is None:
            service = swarm_service(labels, project)
            task = str(labels.get(SWARM_TASK_LABEL, "")).split(".")  # service.slot.task id
            number = task[-2] if service is not None and len(task) >= 3 else ""
        return ContainerInfo(
            id=str(raw["Id"]),
            name=str(raw["Name"]).lstrip("/"),
            service=str(service or ""),
            number=int(number) if str(number).isdigit() else None,
            state=status,
            health=str(state["Health"]["Status"]) if state.get("Health") else None,
            restart_count=int(raw.get("RestartCount", 0)),
            started_at=parse_timestamp(str(state.get("StartedAt", ""))),
            exit_code=None
            if status in ("running", "paused", "created")
            else int(state["ExitCode"]),
            image=str(raw["Config"].get("Image") or raw.get("Image", "")),
            restart_policy=str(
                ((raw.get("HostConfig") or {}).get("RestartPolicy") or {}).get("Name") or "no"
            ),
            image_id=str(raw.get("Image", "")),
            working_dir=str(labels.get(WORKING_DIR_LABEL, "")),
            config_files=tuple(
                f for f in str(labels.get(CONFIG_FILES_LABEL, "")).split(",") if f.strip()
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(
            f"{_NAME}: unexpected container inspect data: {type(exc).__name__}: {exc}"
        ) from exc


def _usage(
    container: ContainerInfo, before: Mapping[str, Any], after: Mapping[str, Any]
) -> ContainerUsage | None:
    """The docker CLI's arithmetic; None unless the container ran at both samples."""
    cpu0, cpu1 = before.get("cpu_stats") or {}, after.get("cpu_stats") or {}
    memory = after.get("memory_stats") or {}
    if not (cpu0.get("system_cpu_usage") and cpu1.get("system_cpu_usage") and "usage" in memory):
        return None
    try:
        used = cpu1["cpu_usage"]["total_usage"] - cpu0["cpu_usage"]["total_usage"]
        elapsed = cpu1["system_cpu_usage"] - cpu0["system_cpu_usage"]
        cpus = cpu1.get("online_cpus") or len(cpu1["cpu_usage"].get("percpu_usage") or ()) or 1
        usage = int(memory["usage"])
        stats = memory.get("stats") or {}
        # Page cache the kernel can drop is not the container's: cgroup v1 key, then v2.
        cache = int(stats.get("total_inactive_file", stats.get("inactive_file", 0)))
        limit = int(memory.get("limit", 0))
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{_NAME}: unexpected stats data: {type(exc).__name__}: {exc}") from exc
    return ContainerUsage(
        name=container.name,
        service=container.service,
        cpu_percent=100.0 * used / elapsed * cpus if used > 0 and elapsed > 0 else 0.0,
        memory_bytes=usage - cache if cache < usage else usage,
        memory_limit_bytes=limit,
    )


def _log_lines(container: str, raw: bytes, start: float) -> list[LogLine]:
    lines = []
    for row in raw.decode("utf-8", "replace").splitlines():
        stamp, _, text = row.partition(" ")
        at = parse_timestamp(stamp)
        if at is None:
            lines.append(LogLine(container, None, row.rstrip("\r")))
        elif at.timestamp() >= start:
            lines.append(LogLine(container, at, text.rstrip("\r")))
    return lines


def _message(response: requests.Response) -> str:
    try:
        return one_line(str(response.json().get("message", response.text)))
    except ValueError:
        return one_line(response.text)


def _engine_time(seconds: float) -> str:
    """The engine's ``seconds.nanoseconds`` form, which keeps sub-second precision."""
    whole = math.floor(seconds)
    return f"{whole}.{min(round((seconds - whole) * 1e9), 999_999_999):09d}"


def _json_stream(text: str) -> Iterator[dict[str, Any]]:
    """The objects of a stream of concatenated JSON documents (the events API's body)."""
    decoder = json.JSONDecoder()
    position = 0
    text = text.strip()
    while position < len(text):
        try:
            item, position = decoder.raw_decode(text, position)
        except ValueError as exc:
            raise DataError(f"{_NAME}: malformed events stream: {exc}") from exc
        if isinstance(item, dict):
            yield item
        while position < len(text) and text[position].isspace():
            position += 1
