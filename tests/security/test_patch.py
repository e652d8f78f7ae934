"""``opslib security patch`` on real containers from locally built images (nothing pulled):
a good rollout moves every replica, an image failing its health check stops after the first
replica and leaves the others on the old image, a health endpoint that does not answer 2xx
stops it too; audited and noted in the open incident."""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from opslib.adapters import Platform
from opslib.audit import AuditLog
from opslib.cli import main
from opslib.config import Settings, UpdateSettings
from opslib.errors import InputError
from opslib.lab._image import ensure_image, python_mounts
from opslib.results import Severity
from opslib.security import (
    apply_patch,
    check_replica_images,
    generate_incident_report,
    open_incident,
    plan_patch,
)
from tests.dbkit import TestDatabase

_NS = 1_000_000_000


@dataclass
class Service:
    """A compose-labelled service ``api`` of a throw-away project, its images built here."""

    client: docker.DockerClient
    project: str
    context: Path

    def build(self, tag: str, *, healthy: bool) -> str:
        """An image whose health check passes (it has /srv/ok) or fails (it does not)."""
        lines = [f"FROM {ensure_image(self.client)}", f"LABEL org.opslib.test.patch={self.project}"]
        if healthy:
            (self.context / "ok").write_text("ok\n")
            lines.append("COPY ok /srv/ok")
        lines.append(f"LABEL org.opslib.test.revision={tag}")  # a new image, built now
        (self.context / "Dockerfile").write_text("\n".join(lines) + "\n")
        image, _ = self.client.images.build(
            path=str(self.context), tag=f"{self.project}:{tag}", pull=False, rm=True
        )
        return str(image.id)

    def run(self, number: int, tag: str) -> str:
        container = self.client.containers.run(
            f"{self.project}:{tag}",
            ["/usr/bin/sleep", "3600"],
            name=f"{self.project}-api-{number}",
            detach=True,
            network_mode="host",
            labels={
                "com.docker.compose.project": self.project,
                "com.docker.compose.service": "api",
                "com.docker.compose.container-number": str(number),
                "org.opslib.test": self.project,
            },
            volumes=python_mounts(),
            healthcheck={"test": ["CMD", "/usr/bin/test", "-e", "/srv/ok"], "interval": _NS,
                         "timeout": _NS, "retries": 2, "start_period": 0},
        )  # fmt: skip
        return str(container.id)

    def settings(self) -> Settings:
        return Settings(
            compose_project=self.project,
            expected_services=["api"],
            updates=UpdateSettings(start_timeout=30, stop_timeout=1),
        )

    def images(self) -> dict[str, str]:
        """Container name -> the tag it was created from."""
        found = self.client.containers.list(
            all=True, filters={"label": f"org.opslib.test={self.project}"}
        )
        return {str(c.name): str(c.attrs["Config"]["Image"]) for c in found}


@pytest.fixture
def service(docker_client: docker.DockerClient, tmp_path: Path) -> Iterator[Service]:
    made = Service(docker_client, f"opslib-patch-{uuid.uuid4().hex[:8]}", tmp_path)
    made.build("1", healthy=True)
    for number in (1, 2, 3):
        made.run(number, "1")
    yield made
    for container in docker_client.containers.list(
        all=True, filters={"label": f"org.opslib.test={made.project}"}
    ):
        container.remove(force=True)
    for image in docker_client.images.list(
        filters={"label": f"org.opslib.test.patch={made.project}"}
    ):
        with contextlib.suppress(docker.errors.APIError):
            docker_client.images.remove(str(image.id), force=True)


def test_a_good_rollout_moves_every_replica_in_order(service: Service) -> None:
    new_id = service.build("2", healthy=True)
    with Platform(service.project) as platform:
        plan = plan_patch(platform, "api", f"{service.project}:2")
        assert plan.replicas == tuple(f"{service.project}-api-{n}" for n in (1, 2, 3))
        report = apply_patch(platform, service.settings(), plan)
        assert report.ok, report.describe()
        assert report.patched == list(plan.replicas)
        after = platform.containers("api")
        assert {c.image_id for c in after} == {new_id}
        assert all(c.running and c.health == "healthy" for c in after)
        again = plan_patch(platform, "api", f"{service.project}:2")
        judged = check_replica_images(platform, service.settings())
    assert again.replicas == ()
    assert judged.severity is Severity.OK
    assert set(service.images().values()) == {f"{service.project}:2"}
    assert "(healthy)" in report.describe()


def test_an_unhealthy_image_stops_after_the_first_replica(service: Service) -> None:
    service.build("bad", healthy=False)
    with Platform(service.project) as platform:
        plan = plan_patch(platform, "api", f"{service.project}:bad")
        report = apply_patch(platform, service.settings(), plan)
        judged = check_replica_images(platform, service.settings())
    first, second, third = (f"{service.project}-api-{n}" for n in (1, 2, 3))
    assert judged.severity is Severity.CRITICAL  # half-patched: two images
    assert f"opslib security patch api --image {service.project}:bad" in judged.remediation
    assert not report.ok
    assert report.failed.startswith(f"{first}: container {first} is unhealthy")
    assert report.patched == []
    assert report.remaining == [second, third]
    images = service.images()
    assert images[first] == f"{service.project}:bad"
    assert images[second] == images[third] == f"{service.project}:1"  # untouched
    assert f"left on the old image: {second}, {third}" in report.describe()


def test_missing_image_and_service_are_refused(service: Service) -> None:
    with Platform(service.project) as platform:
        with pytest.raises(InputError, match="nothing is pulled"):
            plan_patch(platform, "api", f"{service.project}:never-built")
        with pytest.raises(InputError, match="no container of service"):
            plan_patch(platform, "nope")


class _Health(BaseHTTPRequestHandler):
    status = 503

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def failing_endpoint() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/health"
    server.shutdown()
    server.server_close()
    thread.join()


def test_the_command_stops_on_a_failing_endpoint_audited_and_noted(
    service: Service,
    env: TestDatabase,
    failing_endpoint: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPSLIB_COMPOSE_PROJECT", service.project)
    monkeypatch.setenv("OPSLIB_UPDATES__START_TIMEOUT", "3")
    service.build("2", healthy=True)
    incident, _ = open_incident(env, "api keys leaked", actor="carol")
    tag = f"{service.project}:2"
    argv = ["security", "patch", "api", "--image", tag, "--health-url", failing_endpoint]
    assert main([*argv, "--dry-run", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["dry_run"]
    assert len(plan["replicas"]) == 3
    assert set(service.images().values()) == {f"{service.project}:1"}
    assert plan["health_url"] == failing_endpoint
    monkeypatch.setenv("OPSLIB_SECURITY__HEALTH_URLS", json.dumps({"api": failing_endpoint}))
    assert main([*argv[:5], "--json"]) == 3  # the endpoint from security.health_urls
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["incident"] == incident
    assert report["remaining"] == [f"{service.project}-api-2", f"{service.project}-api-3"]
    assert "HTTP 503" in report["failed"]
    assert err.count("\n") == 1
    assert "Traceback" not in err
    row = env.fetch_one("SELECT followups FROM opslib.incidents WHERE id = %s", (incident,))
    assert row is not None
    assert any("patch of api" in f and "HTTP 503" in f for f in row["followups"])
    entries = [e for e in AuditLog(env).recent(10) if e.action == "security.patch"]
    assert [(e.outcome, e.dry_run) for e in entries] == [("failed", False), ("ok", True)]
    report_text = generate_incident_report(env, incident).markdown()
    assert "security.patch" in report_text  # in the incident's timeline
    assert "patch of api" in report_text  # and its follow-ups
