"""Lab fault ``half-patched``: one scraper replica runs a patched image, the others the old one,
as a ``opslib security patch`` stopped after its first replica leaves them.

``inject`` builds a patched image (``FROM`` the lab's image plus a label, tagged
:data:`PATCH_TAG`: nothing pulled) and recreates the target worker's container from it through
the platform adapter (same configuration, name and labels), so ``emergency.security``'s image
check sees two images in the service ``scraper`` and names ``opslib security patch``. ``heal``
recreates that container from the lab's image again and removes the patched one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
from typing import Protocol

import docker
import docker.errors

from opslib.adapters import Platform
from opslib.errors import LabError, OpsError
from opslib.lab._containers import docker_client
from opslib.lab._control import FaultRecord
from opslib.lab._image import IMAGE
from opslib.lab._settings import LabSettings

__all__ = ["PATCH_TAG", "heal_half_patched", "inject_half_patched"]

PATCH_TAG = IMAGE.rpartition(":")[0] + ":half-patched"
"""The patched image one replica runs while the fault lasts."""


class _Host(Protocol):
    @property
    def settings(self) -> LabSettings: ...


def _recreate(settings: LabSettings, name: str, image: str) -> str:
    with Platform(settings.project, timeout=30) as platform:
        found = [c for c in platform.containers("scraper") if c.name == name]
        if not found:
            raise LabError(
                f"half-patched: no container {name} of this lab: the fault needs the lab's"
                " workers in containers (a reachable Docker engine when the lab started)"
            )
        try:
            new = platform.recreate(dataclasses.replace(found[0], image=image), timeout=5)
        except OpsError as exc:
            raise LabError(f"half-patched: cannot recreate {name}: {exc}") from exc
    return new.image_id


def inject_half_patched(host: _Host, target: str | None) -> str:
    """Recreate scraper ``target`` (a worker name) from a patched image."""
    assert target is not None
    dockerfile = f"FROM {IMAGE}\nLABEL org.opslib.lab.fault=half-patched\n"
    with docker_client() as client:
        try:
            client.images.build(
                fileobj=io.BytesIO(dockerfile.encode()), tag=PATCH_TAG, pull=False, rm=True
            )
        except docker.errors.DockerException as exc:
            raise LabError(f"docker: cannot build {PATCH_TAG}: {exc}") from exc
    image_id = _recreate(host.settings, target, PATCH_TAG)
    return (
        f"half-patched: {target} runs {PATCH_TAG} ({image_id.removeprefix('sha256:')[:12]}),"
        f" the other scrapers {IMAGE}"
    )


def heal_half_patched(host: _Host, record: FaultRecord) -> str:
    """Recreate the replica from the lab's image; remove the patched image."""
    target = record.target or ""
    _recreate(host.settings, target, IMAGE)
    with docker_client() as client, contextlib.suppress(docker.errors.DockerException):
        client.images.remove(PATCH_TAG)
    return f"half-patched healed: {target} runs {IMAGE} again"
