"""Scaling and resource limits of one service, on Docker Compose (one host) or Docker Swarm.

Both backends answer the same calls (:class:`ScalingBackend`): how many replicas run, scale to
N, the resource limits, set them, the memory in use. Compose needs no compose CLI: a new replica
is created from the configuration of an existing one (image, command, environment, mounts,
network mode, resource limits, labels), numbered and named as compose does
(``project-service-N``); scaling down stops the highest numbers first, gracefully, then removes
them (the lowest-numbered container is kept, stopped, when scaling to 0: it is the template of
the next scale up). Swarm updates the service's replicas and waits, with a timeout, until its
tasks run.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

try:
    import docker
    import docker.errors
except ModuleNotFoundError:  # the lean install: Platform() says what to install
    pass

from opslib.adapters._platform import (
    NUMBER_LABEL,
    PROJECT_LABEL,
    SERVICE_LABEL,
    ContainerInfo,
    Platform,
)
from opslib.errors import DependencyError, InputError, OpsError

__all__ = [
    "ComposeScaling",
    "ResourceLimits",
    "ScaleOutcome",
    "ScaleFailed",
    "ScalingBackend",
    "SwarmScaling",
]

_SWARM_SERVICE_LABEL = "com.docker.swarm.service.name"
_STACK_LABEL = "com.docker.stack.namespace"
_MAX_WORKERS = 8
# Container settings the engine fills in per container, not copied to a new replica.
_PER_CONTAINER = ("Hostname", "Domainname", "MacAddress")


@dataclass(frozen=True)
class ResourceLimits:
    """CPU (in CPUs) and memory (bytes) limits of a service; None: no limit."""

    cpus: float | None = None
    memory_bytes: int | None = None

    def describe(self) -> str:
        cpus = "no cpu limit" if self.cpus is None else f"{self.cpus:g} cpus"
        memory = "no memory limit" if self.memory_bytes is None else _size(self.memory_bytes)
        return f"{cpus}, {memory}"


@dataclass(frozen=True)
class ScaleOutcome:
    """What a scale did: replicas before and after, the containers started and stopped."""

    backend: str
    service: str
    before: int
    after: int
    started: tuple[str, ...] = ()
    stopped: tuple[str, ...] = ()
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "service": self.service,
            "before": self.before,
            "after": self.after,
            "started": list(self.started),
            "stopped": list(self.stopped),
            "seconds": round(self.seconds, 2),
        }


def _call(platform: Platform, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``call(*args, **kwargs)`` against the engine: retried and translated as every
    :class:`Platform` call."""
    return platform._api(lambda: call(*args, **kwargs))


class ScaleFailed(OpsError):
    """A scale failed midway; the message says what was started, stopped and rolled back."""

    def __init__(self, message: str, outcome: ScaleOutcome, rolled_back: Sequence[str]) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.rolled_back = tuple(rolled_back)


class ScalingBackend(Protocol):
    """What ``opslib scale`` and ``opslib limits`` need of a platform."""

    name: str

    def replicas(self, service: str) -> int:
        """Replicas of ``service`` running now."""
        ...

    def scale(self, service: str, replicas: int) -> ScaleOutcome:
        """Run exactly ``replicas`` of ``service``; ScaleFailed when it could not."""
        ...

    def limits(self, service: str) -> ResourceLimits:
        """The limits new replicas of ``service`` get."""
        ...

    def set_limits(self, service: str, limits: ResourceLimits) -> list[str]:
        """Apply ``limits`` to ``service`` (running replicas and later ones); what was changed."""
        ...

    def memory_in_use(self, service: str) -> dict[str, int]:
        """Replica name -> memory in use now (bytes, page cache excluded)."""
        ...


@dataclass
class ComposeScaling:
    """Scaling on one Docker engine, through the compose labels of ``platform``'s project."""

    platform: Platform
    stop_timeout: float = 10.0
    name: str = field(default="compose", init=False)

    def replicas(self, service: str) -> int:
        return sum(c.running for c in self.platform.containers(service, swarm=False))

    def scale(self, service: str, replicas: int) -> ScaleOutcome:
        started_at = time.monotonic()
        containers = self.platform.containers(service, swarm=False)
        running = [c for c in containers if c.running]
        before = len(running)
        if replicas > before:
            started = self._scale_up(service, containers, replicas - before)
            return ScaleOutcome(
                self.name, service, before, replicas, started=tuple(started),
                seconds=time.monotonic() - started_at,
            )  # fmt: skip
        stopped = self._scale_down(containers, replicas)
        return ScaleOutcome(
            self.name, service, before, replicas, stopped=tuple(stopped),
            seconds=time.monotonic() - started_at,
        )  # fmt: skip

    def limits(self, service: str) -> ResourceLimits:
        containers = self.platform.containers(service, swarm=False)
        if not containers:
            return ResourceLimits()
        template = self._template(containers)
        host = template.get("HostConfig") or {}
        return _limits(host.get("NanoCpus"), host.get("Memory"))

    def set_limits(self, service: str, limits: ResourceLimits) -> list[str]:
        containers = self.platform.containers(service, swarm=False)
        if not containers:
            raise InputError(f"service {service!r} has no container in project "
                             f"{self.platform.project!r}")  # fmt: skip
        api = self._api()
        # The Engine API's update body, as `docker update --cpus --memory` sends it (docker-py's
        # update_container has no NanoCpus); the swap limit follows the memory (-1: unlimited).
        body: dict[str, Any] = {}
        if limits.cpus is not None:
            body["NanoCpus"] = round(limits.cpus * 1e9)
        if limits.memory_bytes is not None:
            body["Memory"] = limits.memory_bytes
            body["MemorySwap"] = -1

        def apply(container: ContainerInfo) -> str:
            raw: Any = api  # private helpers of docker-py's APIClient, untyped
            url = raw._url("/containers/{0}/update", container.id)
            raw._result(raw._post_json(url, data=body), True)
            return container.name

        return self.platform._each(containers, apply)

    def memory_in_use(self, service: str) -> dict[str, int]:
        usage = self.platform.usage(
            self.platform.containers(service, swarm=False), sample_seconds=0.1
        )
        return {u.name: u.memory_bytes for u in usage}

    def _api(self) -> docker.APIClient:
        return self.platform._api(lambda: self.platform._docker().api)

    def _template(self, containers: Sequence[ContainerInfo]) -> dict[str, Any]:
        """The inspect data of the container new replicas copy: the lowest-numbered running
        one, else the lowest-numbered of any state."""
        chosen = next((c for c in containers if c.running), containers[0])
        api = self._api()
        raw: dict[str, Any] = self.platform._api(lambda: api.inspect_container(chosen.id))
        return raw

    def _scale_up(self, service: str, containers: Sequence[ContainerInfo], count: int) -> list[str]:
        if not containers:
            raise InputError(
                f"service {service!r} has no container in project {self.platform.project!r} "
                "to copy: start it once with docker compose up"
            )
        template = self._template(containers)
        api = self._api()
        # Named as the project's compose names them: project-service-N (v2), project_service_N
        # (docker-compose v1).
        copied = str(template.get("Name", "")).lstrip("/")
        separator = "_" if copied.startswith(f"{self.platform.project}_{service}_") else "-"
        # Stopped replicas are started again (lowest numbers), the rest are created; all at
        # once, as compose does. Any failure rolls back what this run started and created.
        stopped = [c for c in containers if not c.running][:count]
        used = {c.number for c in containers if c.number is not None}
        numbers = _free_numbers(used, count - len(stopped))
        started: list[str] = []
        created: list[str] = []
        failures: list[str] = []
        lock = threading.Lock()

        def restart(container: ContainerInfo) -> None:
            _call(self.platform, api.start, container.id)
            with lock:
                started.append(container.name)

        def create(number: int) -> None:
            name = separator.join((self.platform.project, service, str(number)))
            config = _replica_config(template, number)
            made = _call(self.platform, api.create_container_from_config, config, name=name)
            with lock:
                created.append(str(made["Id"]))
            _call(self.platform, api.start, made["Id"])
            with lock:
                started.append(name)

        def guarded(step: Callable[[], None]) -> None:
            try:
                step()
            except OpsError as exc:
                with lock:
                    failures.append(str(exc))

        steps: list[Callable[[], None]] = [functools.partial(restart, c) for c in stopped]
        steps += [functools.partial(create, n) for n in numbers]
        with ThreadPoolExecutor(max_workers=min(len(steps), _MAX_WORKERS) or 1) as pool:
            list(pool.map(guarded, steps))
        if failures:
            rolled = self._roll_back(api, stopped, created, started)
            outcome = ScaleOutcome(self.name, service, len(containers), -1, tuple(started))
            done = ", ".join(sorted(started)) or "none"
            raise ScaleFailed(
                f"scale {service}: {failures[0]} (after starting {done}); rolled back: "
                f"{', '.join(rolled) or 'nothing'}",
                outcome,
                rolled,
            )
        return sorted(started, key=_number_key)

    def _roll_back(
        self,
        api: docker.APIClient,
        stopped: Sequence[ContainerInfo],
        created: Sequence[str],
        started: Sequence[str],
    ) -> list[str]:
        """Stop what this run started and remove what it created; the names undone."""
        undone = []
        wait = max(0, math.ceil(self.stop_timeout))
        for container in stopped:
            if container.name in started:
                try:
                    api.stop(container.id, timeout=wait)
                    undone.append(container.name)
                except docker.errors.DockerException:
                    pass  # reported: not in the rolled-back list
        for ident in created:
            try:
                api.remove_container(ident, force=True)
                undone.append(ident[:12])
            except docker.errors.DockerException:
                pass
        return undone

    def _scale_down(self, containers: Sequence[ContainerInfo], replicas: int) -> list[str]:
        running = [c for c in containers if c.running]
        ordered = sorted(running, key=lambda c: (c.number or 0, c.name))
        excess = ordered[replicas:]
        if not excess:
            return []
        stopped = self.platform.stop(excess, timeout=self.stop_timeout)
        # Removed as compose removes them; the last one is kept stopped as the template.
        keep = min(containers, key=lambda c: (c.number or 0, c.name))
        api = self._api()
        for container in excess:
            if container.id != keep.id:
                try:
                    _call(self.platform, api.remove_container, container.id)
                except DependencyError as exc:
                    if "No such container" not in str(exc):
                        raise
        return stopped


@dataclass
class SwarmScaling:
    """Scaling on a Docker Swarm: the service ``project_service`` (as ``docker stack deploy``
    names it), else ``service``; replicas and resources of its spec."""

    platform: Platform
    converge_timeout: float = 60.0
    poll_seconds: float = 0.2
    sleep: Callable[[float], None] = time.sleep
    name: str = field(default="swarm", init=False)

    def replicas(self, service: str) -> int:
        return len(self._running_tasks(self._service(service)))

    def scale(self, service: str, replicas: int) -> ScaleOutcome:
        started_at = time.monotonic()
        found = self._service(service)
        mode = found.attrs["Spec"].get("Mode") or {}
        if "Replicated" not in mode:
            raise InputError(f"swarm service {found.name} is global: it cannot be scaled")
        wanted_before = int(mode["Replicated"].get("Replicas", 0))
        before = len(self._running_tasks(found))
        self._set_replicas(found, replicas)
        try:
            self._converge(found.name, replicas)
        except OpsError as exc:
            rolled: list[str] = []
            try:
                self._set_replicas(self._service(service), wanted_before)
                rolled.append(f"{found.name} replicas back to {wanted_before}")
            except OpsError as undo:
                rolled.append(f"not rolled back: {undo}")
            outcome = ScaleOutcome(self.name, service, before, -1)
            raise ScaleFailed(
                f"scale {found.name}: {exc}; rolled back: {'; '.join(rolled)}", outcome, rolled
            ) from exc
        after = self._running_tasks(self._service(service))
        return ScaleOutcome(
            self.name, service, before, len(after),
            started=(f"{found.name} {before} -> {replicas} tasks",) if replicas > before else (),
            stopped=(f"{found.name} {before} -> {replicas} tasks",) if replicas < before else (),
            seconds=time.monotonic() - started_at,
        )  # fmt: skip

    def limits(self, service: str) -> ResourceLimits:
        spec = self._service(service).attrs["Spec"]["TaskTemplate"]
        limits = (spec.get("Resources") or {}).get("Limits") or {}
        return _limits(limits.get("NanoCPUs"), limits.get("MemoryBytes"))

    def set_limits(self, service: str, limits: ResourceLimits) -> list[str]:
        found = self._service(service)
        wanted: dict[str, Any] = {}

        def change(spec: dict[str, Any]) -> None:
            resources = spec["TaskTemplate"].setdefault("Resources", {})
            current = resources.setdefault("Limits", {})
            if limits.cpus is not None:
                current["NanoCPUs"] = round(limits.cpus * 1e9)
            if limits.memory_bytes is not None:
                current["MemoryBytes"] = limits.memory_bytes
            wanted.update(current)

        spec = self._update_spec(found.id, change)
        replicas = (spec["Mode"].get("Replicated") or {}).get("Replicas", 0)
        self._converge(found.name, int(replicas), limits=wanted)
        return [found.name]

    def memory_in_use(self, service: str) -> dict[str, int]:
        found = self._service(service)
        api = self._client().api
        summaries = self.platform._api(
            lambda: api.containers(filters={"label": [f"{_SWARM_SERVICE_LABEL}={found.name}"]})
        )
        ids = [str(s["Id"]) for s in summaries]
        infos = self.platform._each(ids, self.platform._inspect)
        usage = self.platform.usage([_as_service(c, service) for c in infos], sample_seconds=0.1)
        return {u.name: u.memory_bytes for u in usage}

    def _client(self) -> docker.DockerClient:
        return self.platform._api(self.platform._docker)

    def _service(self, service: str) -> Any:  # docker.models.services.Service
        client = self._client()
        project = self.platform.project
        for name in (f"{project}_{service}", service):
            found = self._find(client, name)
            if found is not None:
                return found
        raise InputError(f"no swarm service {project}_{service} or {service}")

    def _find(self, client: docker.DockerClient, name: str) -> Any:
        get: Callable[[str], Any] = client.services.get

        def found() -> Any:
            try:
                return get(name)
            except docker.errors.NotFound:
                return None

        return self.platform._api(found)

    def _set_replicas(self, found: Any, replicas: int) -> None:
        def change(spec: dict[str, Any]) -> None:
            spec["Mode"] = {"Replicated": {"Replicas": replicas}}

        self._update_spec(found.id, change)

    def _update_spec(self, ident: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """Post the service's current spec with ``change`` applied, nothing else: docker-py's
        ``update_service(fetch_current_spec=True)`` rewrites more of the spec than it is given,
        which restarts every task of the service on a mere scale."""
        raw: Any = self._client().api  # private helpers of docker-py's APIClient, untyped

        def update() -> dict[str, Any]:
            current = raw.inspect_service(ident)
            spec: dict[str, Any] = current["Spec"]
            change(spec)
            url = raw._url("/services/{0}/update", ident)
            params = {"version": current["Version"]["Index"]}
            raw._result(raw._post_json(url, data=spec, params=params), True)
            return spec

        result: dict[str, Any] = self.platform._api(update)
        return result

    def _running_tasks(self, found: Any) -> list[Mapping[str, Any]]:
        filters = {"service": found.id, "desired-state": "running"}
        tasks: list[Mapping[str, Any]] = _call(self.platform, self._client().api.tasks, filters)
        return [t for t in tasks if (t.get("Status") or {}).get("State") == "running"]

    def _converge(
        self, name: str, replicas: int, *, limits: Mapping[str, Any] | None = None
    ) -> None:
        """Wait until ``replicas`` tasks of ``name`` run (with ``limits`` in their spec, when
        given: the rolling update done) and no other is desired running; DependencyError
        naming the tasks not running (a node lost, no resources) at the timeout."""
        deadline = time.monotonic() + self.converge_timeout
        while True:
            found = self._service_by_name(name)
            tasks = _call(self.platform, self._client().api.tasks, {"service": found.id})
            desired = [t for t in tasks if t.get("DesiredState") == "running"]
            running = [t for t in desired if (t.get("Status") or {}).get("State") == "running"]
            # Tasks being shut down still hold their container until they stop.
            stopping = [
                t for t in tasks
                if t.get("DesiredState") in ("shutdown", "remove")
                and (t.get("Status") or {}).get("State") in ("running", "starting", "preparing")
            ]  # fmt: skip
            updated = limits is None or all(_task_limits(t) == dict(limits) for t in running)
            if len(running) == replicas == len(desired) and not stopping and updated:
                return
            if time.monotonic() >= deadline:
                stuck = _task_states(desired, running, stopping, self._nodes())
                raise DependencyError(
                    "swarm",
                    f"{len(running)} of {replicas} tasks of {name} running after "
                    f"{self.converge_timeout:g} s ({stuck})",
                )
            self.sleep(self.poll_seconds)

    def _service_by_name(self, name: str) -> Any:
        return _call(self.platform, self._client().services.get, name)

    def _nodes(self) -> dict[str, str]:
        """Node id -> "hostname (state)" of the nodes not ready: where tasks are lost."""
        nodes = _call(self.platform, self._client().api.nodes)
        found = {}
        for node in nodes:
            state = (node.get("Status") or {}).get("State", "unknown")
            if state != "ready":
                host = (node.get("Description") or {}).get("Hostname", node.get("ID", "?"))
                found[str(node.get("ID"))] = f"{host} ({state})"
        return found


def _task_limits(task: Mapping[str, Any]) -> dict[str, Any]:
    resources = (task.get("Spec") or {}).get("Resources") or {}
    return dict(resources.get("Limits") or {})


def _task_states(
    desired: Sequence[Mapping[str, Any]],
    running: Sequence[Mapping[str, Any]],
    stopping: Sequence[Mapping[str, Any]],
    down: Mapping[str, str],
) -> str:
    parts = []
    for task in desired:
        if task in running:
            continue
        status = task.get("Status") or {}
        where = down.get(str(task.get("NodeID")), "")
        message = status.get("Err") or status.get("Message") or ""
        parts.append(f"task {str(task.get('ID'))[:12]} {status.get('State', '?')}"
                     f"{' on lost node ' + where if where else ''}"
                     f"{': ' + message if message else ''}")  # fmt: skip
    if stopping:
        parts.append(f"{len(stopping)} task(s) still stopping")
    if down and not parts:
        parts.append("nodes down: " + ", ".join(sorted(down.values())))
    return "; ".join(parts[:5]) or "no task reported"


def _replica_config(template: Mapping[str, Any], number: int) -> dict[str, Any]:
    """The create configuration of replica ``number``: the template's, renumbered."""
    config = {k: v for k, v in dict(template["Config"]).items() if k not in _PER_CONTAINER}
    labels = dict(config.get("Labels") or {})
    labels[NUMBER_LABEL] = str(number)
    config["Labels"] = labels
    host = dict(template.get("HostConfig") or {})
    config["HostConfig"] = host
    networks = (template.get("NetworkSettings") or {}).get("Networks") or {}
    mode = str(host.get("NetworkMode") or "default")
    if mode not in ("host", "none", "default", "bridge") and not mode.startswith("container:"):
        endpoints = {
            net: {"Aliases": [a for a in (ep or {}).get("Aliases") or [] if len(a) != 12]}
            for net, ep in networks.items()
        }
        config["NetworkingConfig"] = {"EndpointsConfig": endpoints}
    return config


def _number_key(name: str) -> tuple[int, str]:
    tail = name.replace("_", "-").rpartition("-")[2]
    return (int(tail) if tail.isdigit() else 0, name)


def _free_numbers(used: set[int], count: int) -> list[int]:
    numbers: list[int] = []
    candidate = 1
    while len(numbers) < count:
        if candidate not in used:
            numbers.append(candidate)
        candidate += 1
    return numbers


def _limits(nano_cpus: Any, memory: Any) -> ResourceLimits:
    return ResourceLimits(
        cpus=int(nano_cpus) / 1e9 if nano_cpus else None,
        memory_bytes=int(memory) if memory else None,
    )


def _as_service(container: ContainerInfo, service: str) -> ContainerInfo:
    from dataclasses import replace

    return replace(container, service=service)


def _size(value: int) -> str:
    for unit, scale in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)):
        if value >= scale and value % scale == 0:
            return f"{value // scale}{unit}"
    if value >= 1 << 20:
        return f"{value / (1 << 20):.1f}m"
    return f"{value} bytes"


def scaling_labels(project: str, service: str) -> dict[str, str]:
    """The compose labels a container of ``service`` in ``project`` carries."""
    return {PROJECT_LABEL: project, SERVICE_LABEL: service}
