"""``opslib updates apply``: the runbook's pull, rebuild and restart, then ``certbot renew``.

Plan, then apply: the plan says per service whether it is pulled (only when its registry
answers), rebuilt (when a build context is known) and recreated; apply recreates the
service's containers one at a time from the image the tag names afterwards, each waited for
before the next, and runs the daily health check at the end. A failure stops and names the
container.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol

from opslib.adapters._platform import ContainerInfo, ImageInfo
from opslib.config import Settings
from opslib.errors import OpsError
from opslib.health import service_status
from opslib.results import Severity
from opslib.updates._compose import compose_build
from opslib.updates._images import ServiceImage, names_registry, service_images

__all__ = [
    "CertbotOutcome",
    "UpdatePlan",
    "UpdateReport",
    "UpdateTarget",
    "apply_update",
    "judge_certbot",
    "plan_update",
    "run_certbot",
]


class UpdateTarget(Protocol):
    """What updates read and change (the platform adapter)."""

    def containers(self, service: str | None = None) -> list[ContainerInfo]: ...

    def restarts_since(self, since: datetime) -> dict[str, int]: ...

    def image(self, name: str) -> ImageInfo | None: ...

    def registry_digest(self, name: str) -> str: ...

    def pull(self, name: str) -> str: ...

    def build(self, context: str, tag: str, *, dockerfile: str | None = None) -> str: ...

    def recreate(self, container: ContainerInfo, *, timeout: float = 10.0) -> ContainerInfo: ...


@dataclass(frozen=True)
class ServicePlan:
    """What apply does to one service."""

    service: str
    reference: str
    containers: tuple[str, ...]
    pull: str  # "" when not pulled; else why it is or is not
    will_pull: bool
    build_context: Path | None
    dockerfile: str | None
    build: str

    def describe(self) -> list[str]:
        return [
            f"{self.service}: {self.pull}",
            f"{self.service}: {self.build}",
            f"{self.service}: recreate {', '.join(self.containers)} one at a time when"
            f" {self.reference} names a new image, same configuration",
        ]


@dataclass(frozen=True)
class UpdatePlan:
    """Every service's plan, and whether certbot renew is run."""

    services: tuple[ServicePlan, ...]
    certbot: tuple[str, ...]

    def describe(self) -> str:
        lines = [line for plan in self.services for line in plan.describe()]
        if self.certbot:
            lines.append(
                f"run {' '.join(self.certbot)} (updates.certbot_command), judge its output"
            )
        else:
            lines.append("certbot: not configured (updates.certbot_command)")
        lines.append("then the daily health check of the services")
        return "\n".join(lines)


CertbotState = Literal["renewed", "not due", "failed"]


@dataclass(frozen=True)
class CertbotOutcome:
    """What certbot renew did, judged from its exit code and output."""

    state: CertbotState
    detail: str


@dataclass
class UpdateReport:
    """What apply did, line by line; ``failed`` names what stopped it."""

    lines: list[str] = field(default_factory=list)
    recreated: list[str] = field(default_factory=list)
    certbot: CertbotOutcome | None = None
    failed: str = ""

    def describe(self) -> str:
        return "\n".join([*self.lines, *([f"FAILED: {self.failed}"] if self.failed else [])])


def plan_update(
    platform: UpdateTarget, settings: Settings, services: Sequence[str] = ()
) -> UpdatePlan:
    """The plan for ``services`` (default ``updates.services``, else all of the project)."""
    chosen = list(services) or list(settings.updates.services) or None
    images = service_images(platform, services=chosen, ask_registry=False)
    if chosen is not None:
        missing = sorted(set(chosen) - {i.service for i in images})
        if missing:
            raise OpsError(f"no container of service(s) {', '.join(missing)} in the project")
    return UpdatePlan(
        services=tuple(_service_plan(platform, settings, image) for image in images),
        certbot=tuple(settings.updates.certbot_command),
    )


def _service_plan(platform: UpdateTarget, settings: Settings, image: ServiceImage) -> ServicePlan:
    running = platform.image(image.running_id) if image.running_id else None
    pulled_from = bool(running and running.repo_digests) or names_registry(image.reference)
    if not pulled_from:
        pull, will_pull = f"not pulled: {image.reference} is built locally (no registry)", False
    elif not settings.updates.check_registry:
        pull, will_pull = "not pulled: updates.check_registry is off", False
    else:
        try:
            platform.registry_digest(image.reference)
        except OpsError as exc:
            pull, will_pull = f"not pulled: registry unreachable: {exc}", False
        else:
            pull, will_pull = f"pull {image.reference}", True
    context = settings.updates.build_contexts.get(image.service)
    dockerfile = settings.updates.dockerfiles.get(image.service)
    where = "updates.build_contexts"
    if context is None:
        found = compose_build(platform.containers(image.service)[0])
        if isinstance(found, str):
            why = f"{found}; updates.build_contexts.{image.service} is not set"
        else:
            (context, from_compose), where = found, "the compose files"
            dockerfile = dockerfile or from_compose
    if context is None:
        build = f"not rebuilt: no build context ({why})"
    else:
        build = (
            f"rebuild {image.reference} from {context}"
            + (f" ({dockerfile})" if dockerfile else "")
            + f" ({where})"
        )
    return ServicePlan(
        service=image.service,
        reference=image.reference,
        containers=image.containers,
        pull=pull,
        will_pull=will_pull,
        build_context=context,
        dockerfile=dockerfile,
        build=build,
    )


def apply_update(
    platform: UpdateTarget,
    settings: Settings,
    plan: UpdatePlan,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> UpdateReport:
    """Carry out ``plan``; stops at the first failure, recorded in ``failed``."""
    report = UpdateReport()
    try:
        for service in plan.services:
            _apply_service(platform, settings, service, report, sleep=sleep, clock=clock)
        if plan.certbot:
            _certbot(plan.certbot, settings, report)
        _health(platform, settings, report)
    except OpsError as exc:
        report.failed = str(exc)
    return report


def _certbot(command: Sequence[str], settings: Settings, report: UpdateReport) -> None:
    outcome = run_certbot(command, timeout=settings.updates.certbot_timeout)
    report.certbot = outcome
    report.lines.append(f"certbot: {outcome.state}: {outcome.detail}")
    if outcome.state == "failed":
        raise OpsError(f"certbot renew failed: {outcome.detail}")


def _health(platform: UpdateTarget, settings: Settings, report: UpdateReport) -> None:
    health = service_status(platform, settings)
    if health.severity is not Severity.OK:
        raise OpsError(f"daily health check after the update: {health.message()}")
    report.lines.append("daily health check: services running")


def _apply_service(
    platform: UpdateTarget,
    settings: Settings,
    plan: ServicePlan,
    report: UpdateReport,
    *,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> None:
    if plan.will_pull:
        platform.pull(plan.reference)
        report.lines.append(f"{plan.service}: pulled {plan.reference}")
    else:
        report.lines.append(f"{plan.service}: {plan.pull}")
    if plan.build_context is not None:
        platform.build(str(plan.build_context), plan.reference, dockerfile=plan.dockerfile)
        report.lines.append(f"{plan.service}: rebuilt {plan.reference} from {plan.build_context}")
    else:
        report.lines.append(f"{plan.service}: {plan.build}")
    target = platform.image(plan.reference)
    if target is None:
        raise OpsError(f"{plan.service}: no local image {plan.reference} to run")
    stale = [c for c in platform.containers(plan.service) if c.image_id != target.id]
    if not stale:
        report.lines.append(f"{plan.service}: containers already run {target.id[7:19]}")
    for old in stale:
        new = platform.recreate(old, timeout=settings.updates.stop_timeout)
        _wait_running(platform, new, settings.updates.start_timeout, sleep, clock)
        report.recreated.append(new.name)
        report.lines.append(f"{plan.service}: recreated {new.name} from {target.id[7:19]}")


def _wait_running(
    platform: UpdateTarget,
    container: ContainerInfo,
    timeout: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> None:
    deadline = clock() + timeout
    while True:
        now = next(
            (c for c in platform.containers(container.service) if c.id == container.id), None
        )
        if now is None:
            raise OpsError(f"container {container.name} vanished after it was recreated")
        if now.running and now.health in (None, "healthy"):
            return
        if now.state in ("exited", "dead"):
            state = f"{now.state} (exit code {now.exit_code})"
            raise OpsError(f"container {container.name} is {state} after it was recreated; stopped")
        if now.health == "unhealthy":
            raise OpsError(
                f"container {container.name} is unhealthy after it was recreated; stopped"
            )
        if clock() >= deadline:
            raise OpsError(
                f"container {container.name} not running and healthy within {timeout:g} s"
                f" (state {now.state}, health {now.health or '-'}); stopped"
            )
        sleep(0.5)


def run_certbot(command: Sequence[str], *, timeout: float) -> CertbotOutcome:
    """Run ``command`` (``certbot renew``) and judge what it printed."""
    try:
        done = subprocess.run(
            list(command), capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return CertbotOutcome("failed", f"no end within {timeout:g} s")
    except OSError as exc:
        return CertbotOutcome("failed", f"cannot run {command[0]}: {exc.strerror or exc}")
    return judge_certbot(done.returncode, done.stdout + done.stderr)


def judge_certbot(returncode: int, output: str) -> CertbotOutcome:
    """renewed / not due / failed, from certbot renew's exit code and output."""
    text = output.lower()
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    last = lines[-1] if lines else "no output"
    if returncode != 0 or "renew failure" in text or "renewals failed" in text:
        failed = next((ln for ln in lines if "fail" in ln.lower()), last)
        return CertbotOutcome("failed", f"exit code {returncode}: {failed}")
    if "congratulations, all renewals succeeded" in text or "successfully renewed" in text:
        renewed = [ln for ln in lines if ln.startswith("/") and "(success)" in ln]
        return CertbotOutcome("renewed", "; ".join(renewed) or last)
    if "no renewals were attempted" in text or "not due for renewal" in text:
        return CertbotOutcome("not due", "no certificate is due for renewal")
    return CertbotOutcome("failed", f"output not understood: {last}")
