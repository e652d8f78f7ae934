"""Lab fault ``image-outdated``: a newer image appears under the tag the lab's containers run.

The lab's Python containers run :data:`opslib.lab._image.IMAGE`, imported here. The fault keeps
the running image under a second tag (``...:before-image-outdated``) and builds a new image under
the same tag (``FROM`` the running one plus a label: built now, so newer), while the scrapers
keep running the old one; ``monthly.security_updates``'s image check then names
``opslib updates apply``. Heal moves the tag back to the image kept and removes the newer one
when no container runs it. The tag belongs to the Docker engine: every lab on this machine sees
the newer image while the fault lasts (nothing else changes for them).
"""

from __future__ import annotations

import contextlib
import io

import docker
import docker.errors

from opslib.errors import LabError
from opslib.lab._containers import docker_client
from opslib.lab._control import FaultRecord
from opslib.lab._image import IMAGE

__all__ = ["KEEP_TAG", "heal_outdated", "inject_outdated", "outdate_image", "restore_image"]

KEEP_TAG = "before-image-outdated"
"""The tag the running image is kept under while a newer one holds its own."""
_LABEL = "org.opslib.lab.fault"


def _split(reference: str) -> tuple[str, str]:
    repo, _, tag = reference.rpartition(":")
    if not repo or "/" in tag:
        return reference, "latest"
    return repo, tag


def outdate_image(client: docker.DockerClient, reference: str) -> str:
    """Keep the image ``reference`` names under :data:`KEEP_TAG` and build a newer one under
    ``reference``; return the newer image's id."""
    repo, _tag = _split(reference)
    try:
        running = client.images.get(reference)
        if not _has(client, f"{repo}:{KEEP_TAG}"):
            running.tag(repo, KEEP_TAG)
        dockerfile = f"FROM {repo}:{KEEP_TAG}\nLABEL {_LABEL}=image-outdated\n"
        built, _logs = client.images.build(
            fileobj=io.BytesIO(dockerfile.encode()), tag=reference, pull=False, rm=True
        )
    except docker.errors.DockerException as exc:
        raise LabError(f"docker: cannot build a newer {reference}: {exc}") from exc
    return str(built.id)


def restore_image(client: docker.DockerClient, reference: str) -> str:
    """Put ``reference`` back on the image kept by :func:`outdate_image` and remove the newer
    one unless a container runs it; say what was done."""
    repo, tag = _split(reference)
    keep = f"{repo}:{KEEP_TAG}"
    try:
        if not _has(client, keep):
            return f"{reference}: no image kept under {keep}, nothing to restore"
        kept = client.images.get(keep)
        newer = client.images.get(reference) if _has(client, reference) else None
        kept.tag(repo, tag)
        client.api.remove_image(keep)  # the tag only: the image keeps `reference`
        if newer is not None and newer.id != kept.id:
            with contextlib.suppress(docker.errors.APIError):  # a container runs it: kept
                client.images.remove(str(newer.id))
    except docker.errors.DockerException as exc:
        raise LabError(f"docker: cannot restore {reference}: {exc}") from exc
    return f"{reference} names the image the lab started with again"


def _has(client: docker.DockerClient, reference: str) -> bool:
    try:
        client.images.get(reference)
    except docker.errors.ImageNotFound:
        return False
    return True


def inject_outdated(_host: object, _target: str | None) -> str:
    """The fault's inject: a newer lab image under the tag the scrapers run."""
    with docker_client() as client:
        newer = outdate_image(client, IMAGE)
    return (
        f"image-outdated: {IMAGE} now names a newer image {newer.removeprefix('sha256:')[:12]}"
        " than the scrapers run (opslib updates apply recreates them from it)"
    )


def heal_outdated(_host: object, _record: FaultRecord) -> str:
    """The fault's heal: the tag back on the image the lab started with."""
    with docker_client() as client:
        return "image-outdated: " + restore_image(client, IMAGE)
