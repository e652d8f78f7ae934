"""Lab fault image-outdated on real images: a newer image under the running tag turns the
monthly.security_updates image check red naming `opslib updates apply`; restoring puts the tag
back on the running image and removes the newer one."""

from __future__ import annotations

import docker.errors
import pytest

from opslib.adapters import Platform
from opslib.lab._image_fault import KEEP_TAG, outdate_image, restore_image
from opslib.results import Severity
from opslib.updates import judge_images, service_images
from opslib.updates._certs import now_utc
from tests.updates.conftest import Project


def test_image_outdated_fires_and_heals(project: Project) -> None:
    first = project.build("1")
    project.run(1)
    settings = project.settings()
    with Platform(project.name) as platform:
        assert judge_images(service_images(platform), settings, now_utc()).severity is (Severity.OK)

        newer = outdate_image(project.client, project.tag)
        (image,) = service_images(platform)
        assert (image.running_id, image.local_id) == (first, newer)
        red = judge_images([image], settings, now_utc())
        assert red.severity is not Severity.OK
        assert "opslib updates apply" in red.message()
        assert project.client.images.get(f"{project.name}:{KEEP_TAG}").id == first

        said = restore_image(project.client, project.tag)
        assert "again" in said
        (image,) = service_images(platform)
        assert image.local_id == first
        assert judge_images([image], settings, now_utc()).severity is Severity.OK
    with pytest.raises(docker.errors.ImageNotFound):
        project.client.images.get(newer)
    with pytest.raises(docker.errors.ImageNotFound):
        project.client.images.get(f"{project.name}:{KEEP_TAG}")
    assert "nothing to restore" in restore_image(project.client, project.tag)
