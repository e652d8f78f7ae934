"""The images of the compose project's services: age, and whether a newer one has the tag."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from opslib.adapters._platform import ContainerInfo, ImageInfo
from opslib.errors import OpsError

__all__ = ["ImageSource", "ServiceImage", "names_registry", "service_images"]


class ImageSource(Protocol):
    """What :func:`service_images` reads (the platform adapter)."""

    def containers(self, service: str | None = None) -> list[ContainerInfo]: ...

    def image(self, name: str) -> ImageInfo | None: ...

    def registry_digest(self, name: str) -> str: ...


@dataclass(frozen=True)
class ServiceImage:
    """One service's image as its containers run it, against what its tag names now."""

    service: str
    reference: str  # the tag the containers were created from
    running_id: str  # the image the containers run (the oldest of them when they differ)
    created: datetime | None  # when the running image was built
    containers: tuple[str, ...]
    local_id: str | None  # what the tag names locally now (None: the tag is gone)
    local_created: datetime | None
    registry: str  # "same digest", "newer digest sha256:...", or why it was not asked/answered
    registry_newer: bool | None  # None when the registry was not asked or did not answer

    @property
    def newer_locally(self) -> bool:
        """The tag names another, newer image here than the one running."""
        if self.local_id is None or self.local_id == self.running_id:
            return False
        if self.local_created is None or self.created is None:
            return True
        return self.local_created >= self.created

    @property
    def newer(self) -> bool:
        """A newer image with the same tag exists (here or in the registry)."""
        return self.newer_locally or bool(self.registry_newer)

    def age_days(self, now: datetime) -> float | None:
        """Days since the running image was built; None when its date is unknown."""
        if self.created is None:
            return None
        return round((now - self.created).total_seconds() / 86400, 1)


def names_registry(reference: str) -> bool:
    """Whether ``reference`` names its registry (``host:port/...``, ``a.b/...``, ``localhost/``)."""
    first, slash, _ = reference.partition("/")
    return bool(slash) and ("." in first or ":" in first or first == "localhost")


def service_images(
    platform: ImageSource, *, services: list[str] | None = None, ask_registry: bool = True
) -> list[ServiceImage]:
    """Every service's image (or only ``services``'), with the registry asked for the tag's
    digest when the image came from a registry or its reference names one; an image built
    here and never pushed has no registry to ask, and says so."""
    by_service: dict[str, list[ContainerInfo]] = {}
    for container in platform.containers():
        if container.service and (services is None or container.service in services):
            by_service.setdefault(container.service, []).append(container)
    found: list[ServiceImage] = []
    for service, containers in sorted(by_service.items()):
        found.append(_service_image(platform, service, containers, ask_registry=ask_registry))
    return found


def _service_image(
    platform: ImageSource, service: str, containers: list[ContainerInfo], *, ask_registry: bool
) -> ServiceImage:
    reference = containers[0].image
    running: list[ImageInfo] = []
    for ident in sorted({c.image_id for c in containers if c.image_id}):
        info = platform.image(ident)
        if info is not None:
            running.append(info)
    oldest = _oldest(running)
    local = platform.image(reference)
    registry, newer = _ask_registry(platform, reference, oldest, local, ask_registry=ask_registry)
    return ServiceImage(
        service=service,
        reference=reference,
        running_id=oldest.id if oldest else (containers[0].image_id or ""),
        created=oldest.created if oldest else None,
        containers=tuple(c.name for c in containers),
        local_id=local.id if local else None,
        local_created=local.created if local else None,
        registry=registry,
        registry_newer=newer,
    )


def _oldest(images: list[ImageInfo]) -> ImageInfo | None:
    dated = [(i.created, i) for i in images if i.created is not None]
    if dated:
        return min(dated, key=lambda pair: pair[0])[1]
    return images[0] if images else None


def _ask_registry(
    platform: ImageSource,
    reference: str,
    running: ImageInfo | None,
    local: ImageInfo | None,
    *,
    ask_registry: bool,
) -> tuple[str, bool | None]:
    known = {d.rpartition("@")[2] for i in (running, local) if i for d in i.repo_digests}
    if not known and not names_registry(reference):
        return "built locally (no registry digest to compare)", None
    if not ask_registry:
        return "registry not asked (updates.check_registry is off)", None
    try:
        digest = platform.registry_digest(reference)
    except OpsError as exc:
        return f"registry unreachable: {exc}", None
    running_digests = {d.rpartition("@")[2] for d in (running.repo_digests if running else ())}
    if digest in running_digests:
        return "same digest as the registry", False
    return f"registry has a newer digest {digest[:19]}", True
