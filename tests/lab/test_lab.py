"""The session lab: idempotent up, status, the config file and the command line."""

from __future__ import annotations

import json
import stat

import docker
import pytest

from opslib.cli import main
from opslib.config import load_settings
from opslib.errors import LabError
from opslib.lab import FAULTS, Lab, LabSettings, lab_thresholds
from opslib.lab._containers import STATE_LABEL
from opslib.lab._prometheus import find_node_exporter
from tests.labkit import require_docker_lab


def test_status_shows_every_component_running(lab: Lab) -> None:
    status = lab.status()
    assert status.running, status
    names = [c.name for c in status.components]
    settings = lab.settings
    servers = ["postgres", "shop", "proxies", "prometheus"]
    servers += ["node-exporter"] if find_node_exporter() is not None else []
    workers = [settings.worker_name(i) for i in range(1, settings.workers + 1)]
    assert names == [*servers, *workers]
    assert status.component("proxies").ports == settings.proxy_ports
    assert all(c.pid for c in status.components)
    assert status.config_file == lab.config_file
    assert status.mode in ("docker", "local")


def test_up_again_starts_no_duplicates(lab: Lab) -> None:
    before = lab.status()
    again = lab.up()
    assert [(c.name, c.pid) for c in again.components] == [
        (c.name, c.pid) for c in before.components
    ]
    if again.mode == "docker":
        client = docker.from_env(timeout=10)
        try:
            found = client.containers.list(
                all=True, filters={"label": f"{STATE_LABEL}={lab.paths.root}"}
            )
        finally:
            client.close()
        assert sorted(str(c.name) for c in found) == [
            lab.settings.worker_name(i) for i in range(1, lab.settings.workers + 1)
        ]


def test_up_with_other_settings_is_refused(lab: Lab) -> None:
    other = LabSettings.for_tests(lab.paths.root, 20000)
    with pytest.raises(LabError, match="other settings"):
        Lab(other).up()


def test_workers_run_as_compose_containers_when_docker_answers(lab: Lab) -> None:
    require_docker_lab(lab)
    client = docker.from_env(timeout=10)
    try:
        container = client.containers.get(lab.settings.worker_name(1))
        labels = container.labels
        assert labels["com.docker.compose.project"] == lab.settings.project
        assert labels["com.docker.compose.service"] == "scraper"
        assert labels["com.docker.compose.container-number"] == "1"
        host = container.attrs["HostConfig"]
        assert host["NetworkMode"] == "host"
        assert host["Memory"] == 256 * 1024 * 1024
        assert host["RestartPolicy"]["Name"] == "on-failure"
        assert container.attrs["State"]["Health"]["Status"] == "healthy"
    finally:
        client.close()


def test_config_file_is_private_and_loads(lab: Lab) -> None:
    path = lab.config_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    settings = load_settings(path)
    assert settings.database_dsn is not None
    assert f"port={lab.settings.postgres_port}" in settings.database_dsn.get_secret_value()
    assert settings.prometheus_url == f"http://127.0.0.1:{lab.settings.prometheus_port}"
    assert settings.metrics_urls == [
        f"http://127.0.0.1:{p}/metrics" for p in lab.settings.metrics_ports
    ]
    assert settings.compose_project == lab.settings.project
    assert (settings.scraper_service, settings.expected_services) == ("scraper", ["scraper"])
    for name, limits in lab_thresholds(lab.settings).items():
        assert settings.threshold(name).warn == limits["warn"]
        assert settings.threshold(name).crit == limits["crit"]


def _password(lab: Lab) -> str:
    dsn = load_settings(lab.config_file).database_dsn
    assert dsn is not None
    return dsn.get_secret_value().split("password=")[1].split()[0]


def test_env_prints_the_export_line_and_no_password(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lab", "env", "--state-dir", str(lab.paths.root)]) == 0
    out = capsys.readouterr()
    assert out.out.strip() == f"export OPSLIB_CONFIG={lab.config_file}"
    assert main(["lab", "env", "--json", "--state-dir", str(lab.paths.root)]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload == {"OPSLIB_CONFIG": str(lab.config_file)}
    assert _password(lab) not in out.out + out.err


def test_status_command_table_and_json(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lab", "status", "--state-dir", str(lab.paths.root)]) == 0
    text = capsys.readouterr().out
    assert "prometheus" in text
    assert f"export OPSLIB_CONFIG={lab.config_file}" in text
    assert main(["--json", "lab", "status", "--state-dir", str(lab.paths.root)]) == 0
    raw = capsys.readouterr().out
    payload = json.loads(raw)
    assert payload["project"] == lab.settings.project
    assert {c["name"] for c in payload["components"]} >= {"postgres", "shop", "proxies"}
    assert _password(lab) not in raw + text


def test_unknown_fault_and_target_are_refused(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(LabError, match="unknown fault"):
        lab.inject("meteor-strike")
    with pytest.raises(LabError, match="unknown shop domain"):
        lab.inject("error-burst", target="nowhere")
    with pytest.raises(LabError, match="unknown scraper"):
        lab.inject("scraper-stopped", target="99")
    assert main(["lab", "inject", "meteor-strike", "--state-dir", str(lab.paths.root)]) == 2
    assert "meteor-strike" in capsys.readouterr().err
    assert set(FAULTS) == {
        "scraper-stopped", "error-burst", "low-confidence", "missing-prices", "queue-backlog",
        "stale-data", "proxy-dead", "proxy-blackhole", "proxy-slow", "proxy-banned",
        "proxy-leaking", "maintenance-stuck", "site-down", "site-slow", "site-blocking",
        "rate-limited", "price-jump", "site-change",
        "slow-query", "disk-filling", "overload", "cpu-hog",
        "brute-force", "scan", "debug-left-on", "credential-stuffing", "key-leak",
        "table-bloat", "stale-stats", "unused-index", "slow-week",
        "cert-expiring", "image-outdated", "half-patched",
        "rules-ignored", "key-aged",
    }  # fmt: skip


def test_status_of_a_directory_without_a_lab(tmp_path_factory: pytest.TempPathFactory) -> None:
    empty = Lab(LabSettings(state_dir=tmp_path_factory.mktemp("nolab") / "none"))
    status = empty.status()
    assert status.components == ()
    assert not status.running
    assert status.stopped
    assert main(["lab", "status", "--state-dir", str(empty.paths.root)]) == 3
