"""``opslib updates check | apply`` from the command line: exit statuses, JSON, the dry run's
plan and its audit entry, one-line errors."""

from __future__ import annotations

import json
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from opslib.audit import AuditLog
from opslib.cli import main
from opslib.config import Settings
from opslib.lab._image import ensure_image, python_mounts
from tests.dbkit import TestDatabase
from tests.updates.conftest import TlsServer


@pytest.fixture
def service(docker_client: docker.DockerClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """One running container of service ``app`` in a project of its own (the lab's image)."""
    project = f"opslib-updcli-{uuid.uuid4().hex[:8]}"
    container = docker_client.containers.run(
        ensure_image(docker_client), ["/usr/bin/sleep", "3600"], name=f"{project}-app-1",
        detach=True, network_mode="host", volumes=python_mounts(),
        labels={"com.docker.compose.project": project, "com.docker.compose.service": "app",
                "com.docker.compose.container-number": "1"},
    )  # fmt: skip
    monkeypatch.setenv("OPSLIB_COMPOSE_PROJECT", project)
    monkeypatch.setenv("OPSLIB_EXPECTED_SERVICES", '["app"]')
    yield project
    container.remove(force=True)


def test_check_exit_status_and_json(
    env: TestDatabase,
    service: str,
    expiring: TlsServer,
    ca_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OPSLIB_UPDATES__ENDPOINTS", json.dumps([expiring.endpoint]))
    monkeypatch.setenv("OPSLIB_UPDATES__CA_FILE", str(ca_file))
    assert main(["updates", "check"]) == 2
    out = capsys.readouterr().out
    assert "image_age[app] = " in out
    assert f"CRITICAL: cert_days[{expiring.endpoint}]" in out
    assert main(["--json", "updates", "check"]) == 2
    payload = json.loads(capsys.readouterr().out)
    assert payload["severity"] == "CRITICAL"
    images, certs = payload["results"]
    assert images["severity"] in ("OK", "WARNING")
    assert certs["measurements"][0]["name"] == "cert_days"


def test_apply_dry_run_plans_and_audits(
    env: TestDatabase, service: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["updates", "apply", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would:" in out
    assert "app: not pulled: opslib-lab-python:1 is built locally (no registry)" in out
    assert "not rebuilt: no build context" in out
    assert "certbot: not configured (updates.certbot_command)" in out
    (entry,) = AuditLog(env).recent(action="updates.apply")
    assert entry.dry_run
    assert entry.outcome == "ok"
    assert "recreate" in entry.detail


def test_unknown_service_is_one_line(
    env: TestDatabase, service: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["updates", "apply", "--service", "nope", "--dry-run"]) == 3
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "opslib: error: no container of service(s) nope in the project"
    ]


def test_readme_example_loads() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Security updates", 1)[1].split("\n## ", 1)[0]
    block = section.split("```toml\n", 1)[1].split("```", 1)[0]
    settings = Settings.model_validate(tomllib.loads(block))
    assert settings.updates.certbot_command[:2] == ["certbot", "renew"]
    assert str(settings.updates.build_contexts["scraper"]) == "/srv/pricewatch/scraper"
