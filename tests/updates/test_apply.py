"""opslib.updates images and apply on real containers from locally built images (nothing is
pulled: every image is built FROM the lab's locally imported base)."""

from __future__ import annotations

import contextlib
import stat
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import docker
import docker.errors
import pytest

from opslib.adapters import Platform
from opslib.config import Settings, UpdateSettings
from opslib.lab._image import ensure_image, python_mounts
from opslib.results import Severity
from opslib.updates import apply_update, judge_images, plan_update, service_images
from opslib.updates._certs import now_utc

_NS = 1_000_000_000


@dataclass
class Project:
    """A compose-labelled project of one service, ``app``, built from ``context``."""

    client: docker.DockerClient
    name: str
    tag: str
    context: Path

    def build(self, revision: str, entrypoint: str = "") -> str:
        base = ensure_image(self.client)
        lines = [f"FROM {base}", f"LABEL org.opslib.test.revision={revision}"]
        if entrypoint:
            lines.append(f'ENTRYPOINT ["{entrypoint}"]')
        (self.context / "Dockerfile").write_text("\n".join(lines) + "\n")
        image, _ = self.client.images.build(
            path=str(self.context), tag=self.tag, pull=False, rm=True
        )
        return str(image.id)

    def run(self, number: int, image: str | None = None, **labels: str) -> str:
        container = self.client.containers.run(
            image or self.tag,
            ["/usr/bin/sleep", "3600"],
            name=f"{self.name}-app-{number}",
            detach=True,
            network_mode="host",
            labels={
                "com.docker.compose.project": self.name,
                "com.docker.compose.service": "app",
                "com.docker.compose.container-number": str(number),
                "org.opslib.test": self.name,
                **labels,
            },
            volumes=python_mounts(),
            environment={"APP_SETTING": "kept"},
            healthcheck={"test": ["CMD", "/usr/bin/true"], "interval": _NS, "timeout": _NS,
                         "retries": 2, "start_period": 0},
        )  # fmt: skip
        return str(container.id)

    def settings(self, **updates: object) -> Settings:
        return Settings(
            compose_project=self.name,
            expected_services=["app"],
            updates=UpdateSettings.model_validate(updates),
        )


@pytest.fixture
def project(docker_client: docker.DockerClient, tmp_path: Path) -> Iterator[Project]:
    name = f"opslib-upd-{uuid.uuid4().hex[:8]}"
    made = Project(docker_client, name, f"{name}:1", tmp_path)
    yield made
    for container in docker_client.containers.list(
        all=True, filters={"label": f"org.opslib.test={name}"}
    ):
        container.remove(force=True)
    for image in docker_client.images.list(filters={"label": "org.opslib.test.revision"}):
        if any(tag.startswith((name, "127.0.0.1:")) for tag in image.tags) or not image.tags:
            with contextlib.suppress(docker.errors.APIError):
                docker_client.images.remove(str(image.id), force=True)


def test_age_and_a_newer_local_image(project: Project) -> None:
    first = project.build("1")
    project.run(1)
    settings = project.settings()
    with Platform(project.name) as platform:
        (image,) = service_images(platform)
        assert image.running_id == first
        assert image.local_id == first
        assert image.registry == "built locally (no registry digest to compare)"
        assert not image.newer
        result = judge_images([image], settings, now_utc())
        assert result.severity is Severity.OK
        age = image.age_days(now_utc())
        assert age is not None
        assert 0 <= age < 1
        assert judge_images([image], settings, now_utc() + timedelta(days=120)).severity is (
            Severity.WARNING
        )
        second = project.build("2")
        (image,) = service_images(platform)
    assert image.running_id == first
    assert image.local_id == second
    assert image.newer_locally
    result = judge_images([image], settings, now_utc())
    assert result.severity is Severity.WARNING
    assert f"{project.tag} names a newer local image" in result.message()
    assert "opslib updates apply" in result.message()


def test_unreachable_registry_is_said(project: Project, refused_port: int) -> None:
    project.build("1")
    remote = f"127.0.0.1:{refused_port}/{project.name}:1"
    project.client.images.get(project.tag).tag(remote)
    project.run(1, image=remote)
    with Platform(project.name, timeout=5) as platform:
        (image,) = service_images(platform)
        assert image.registry.startswith("registry unreachable: ")
        assert image.registry_newer is None
        assert not image.newer
        plan = plan_update(platform, project.settings())
    assert plan.services[0].pull.startswith("not pulled: registry unreachable")
    assert not plan.services[0].will_pull


def test_apply_rebuilds_and_recreates_one_at_a_time(project: Project, tmp_path: Path) -> None:
    first = project.build("1")
    old_ids = {project.run(1), project.run(2)}
    settings = project.settings(build_contexts={"app": str(project.context)}, start_timeout=30)
    (project.context / "Dockerfile").write_text(
        (project.context / "Dockerfile").read_text().replace("revision=1", "revision=2")
    )
    with Platform(project.name) as platform:
        plan = plan_update(platform, settings)
        assert "rebuild" in plan.describe()
        assert "not pulled" in plan.describe()
        report = apply_update(platform, settings, plan)
        assert report.failed == "", report.describe()
        assert sorted(report.recreated) == [f"{project.name}-app-1", f"{project.name}-app-2"]
        after = platform.containers("app")
    new_image = project.client.images.get(project.tag).id
    assert new_image != first
    assert {c.image_id for c in after} == {new_image}
    assert not {c.id for c in after} & old_ids
    assert all(c.running and c.health == "healthy" for c in after)
    inspected = project.client.api.inspect_container(after[0].id)
    assert "APP_SETTING=kept" in inspected["Config"]["Env"]
    assert inspected["HostConfig"]["NetworkMode"] == "host"
    assert "daily health check: services running" in report.describe()
    with Platform(project.name) as platform:
        again = apply_update(platform, settings, plan_update(platform, settings))
    assert again.recreated == []
    assert again.failed == ""


def test_a_failing_container_stops_apply_and_is_named(project: Project) -> None:
    project.build("1")
    project.run(1)
    project.run(2)
    project.build("2", entrypoint="/usr/bin/false")
    settings = project.settings(start_timeout=20)
    with Platform(project.name) as platform:
        report = apply_update(platform, settings, plan_update(platform, settings))
        states = {c.name: c.running for c in platform.containers("app")}
    assert f"container {project.name}-app-1 is exited (exit code 1)" in report.failed
    assert states[f"{project.name}-app-2"]  # the second one was never touched
    assert report.recreated == []


def _script(path: Path, text: str, code: int = 0) -> list[str]:
    path.write_text(f"#!/bin/sh\ncat <<'END'\n{text}\nEND\nexit {code}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return [str(path)]


def test_certbot_runs_after_the_images(project: Project, tmp_path: Path) -> None:
    project.build("1")
    project.run(1)
    renewed = _script(
        tmp_path / "renewed",
        "Congratulations, all renewals succeeded:\n"
        "  /etc/letsencrypt/live/shop/fullchain.pem (success)",
    )
    failing = _script(tmp_path / "failing", "All renewals failed. 1 renew failure(s)", 1)
    with Platform(project.name) as platform:
        ok = project.settings(certbot_command=renewed)
        report = apply_update(platform, ok, plan_update(platform, ok))
        assert report.certbot is not None
        assert report.certbot.state == "renewed"
        assert "/etc/letsencrypt/live/shop/fullchain.pem (success)" in report.certbot.detail
        bad = project.settings(certbot_command=failing)
        report = apply_update(platform, bad, plan_update(platform, bad))
    assert report.failed.startswith("certbot renew failed: exit code 1")


def test_apply_rebuilds_from_the_compose_files(project: Project) -> None:
    first = project.build("1")
    (project.context / "compose.yaml").write_text(
        "services:\n  app:\n    build:\n      context: .\n      dockerfile: Dockerfile\n"
    )
    labels = {
        "com.docker.compose.project.working_dir": str(project.context),
        "com.docker.compose.project.config_files": str(project.context / "compose.yaml"),
    }
    project.run(1, **labels)
    (project.context / "Dockerfile").write_text(
        (project.context / "Dockerfile").read_text().replace("revision=1", "revision=3")
    )
    settings = project.settings(start_timeout=30)
    with Platform(project.name) as platform:
        plan = plan_update(platform, settings)
        assert f"rebuild {project.tag} from {project.context}" in plan.describe()
        assert "(the compose files)" in plan.describe()
        report = apply_update(platform, settings, plan)
        (after,) = platform.containers("app")
    assert report.failed == "", report.describe()
    assert after.image_id != first
    assert after.working_dir == str(project.context)
