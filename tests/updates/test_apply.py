"""opslib.updates images and apply on real containers from locally built images (nothing is
pulled: every image is built FROM the lab's locally imported base)."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

from opslib.adapters import Platform
from opslib.results import Severity
from opslib.updates import apply_update, judge_images, plan_update, service_images
from opslib.updates._certs import now_utc
from tests.updates.conftest import Project


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
