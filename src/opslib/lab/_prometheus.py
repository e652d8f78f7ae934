"""The lab's Prometheus: the real server binary, storage in the state directory.

It loads opslib's alerting rules and, when ``prometheus-node-exporter`` is installed, scrapes
a node_exporter whose only collector reads the check results in the lab's textfile directory
(``pytest checks/daily --ops-prometheus <state_dir>/textfile/daily.prom``), as an operator's
Prometheus does.
"""

from __future__ import annotations

import json
import os
import shutil
from importlib.resources import files
from pathlib import Path

import httpx

from opslib.errors import LabError
from opslib.lab._settings import LabSettings

__all__ = [
    "SCRAPE_INTERVAL",
    "find_prometheus",
    "find_node_exporter",
    "find_promtool",
    "node_exporter_argv",
    "prometheus_argv",
    "scraped_workers",
]

SCRAPE_INTERVAL = "2s"


def find_prometheus() -> str:
    """Path of the Prometheus server binary: ``$OPSLIB_LAB_PROMETHEUS`` when set (a release
    unpacked outside PATH), else ``prometheus`` on PATH, else ``/usr/bin/prometheus``."""
    explicit = os.environ.get("OPSLIB_LAB_PROMETHEUS")
    if explicit:
        if not os.access(explicit, os.X_OK) or not Path(explicit).is_file():
            raise LabError(f"OPSLIB_LAB_PROMETHEUS={explicit}: no executable file there")
        return explicit
    found = shutil.which("prometheus") or (
        "/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None
    )
    if found is None:
        raise LabError("prometheus binary not found; install it (apt-get install prometheus)")
    return found


def find_promtool() -> str | None:
    """Path of ``promtool`` (shipped with the server), or None."""
    beside = Path(find_prometheus()).resolve().parent / "promtool"
    return shutil.which("promtool") or (str(beside) if beside.exists() else None)


def find_node_exporter() -> str | None:
    """Path of node_exporter (Debian's ``prometheus-node-exporter``), or None."""
    return shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")


def node_exporter_argv(binary: str, settings: LabSettings, textfile_dir: Path) -> list[str]:
    """A node_exporter with only its textfile collector, reading ``textfile_dir``."""
    textfile_dir.mkdir(parents=True, exist_ok=True)
    return [
        binary,
        "--collector.disable-defaults",
        "--collector.textfile",
        f"--collector.textfile.directory={textfile_dir}",
        f"--web.listen-address=127.0.0.1:{settings.exporter_port}",
        "--log.level=warn",
    ]


def _config(settings: LabSettings, rules: Path) -> str:
    # JSON is valid YAML: no YAML library needed to write it.
    targets = [f"127.0.0.1:{port}" for port in settings.metrics_ports]
    jobs: list[dict[str, object]] = [
        {
            "job_name": "scraper",
            "scrape_timeout": "1500ms",
            "static_configs": [
                {"targets": [target], "labels": {"service": "scraper", "worker": str(i + 1)}}
                for i, target in enumerate(targets)
            ],
        }
    ]
    if find_node_exporter() is not None:
        jobs.append(
            {"job_name": "node", "scrape_timeout": "1500ms",
             "static_configs": [{"targets": [f"127.0.0.1:{settings.exporter_port}"]}]}
        )  # fmt: skip
    config = {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL,
                   "external_labels": {"lab": settings.project}},
        "rule_files": [str(rules)],
        "scrape_configs": jobs,
    }  # fmt: skip
    return json.dumps(config, indent=2)


def prometheus_argv(settings: LabSettings, directory: Path) -> list[str]:
    """Write the configuration into ``directory``; return the server's command line."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "prometheus.yml"
    # A copy: the installed package may change under a running lab.
    rules = directory / "alerts.yml"
    rules.write_bytes(files("opslib").joinpath("alerts.yml").read_bytes())
    config.write_text(_config(settings, rules))
    return [
        find_prometheus(),
        f"--config.file={config}",
        f"--storage.tsdb.path={directory / 'data'}",
        # two weeks and a day for a lab with long history (the weekly review), else 2 days
        f"--storage.tsdb.retention.time={15 if settings.history_days >= 14 else 2}d",
        f"--web.listen-address=127.0.0.1:{settings.prometheus_port}",
        "--log.level=warn",
    ]


def scraped_workers(settings: LabSettings, timeout: float = 2.0) -> set[str]:
    """Instances of job ``scraper`` that Prometheus has scraped successfully (``up == 1``)."""
    url = f"http://127.0.0.1:{settings.prometheus_port}/api/v1/query"
    try:
        response = httpx.get(
            url, params={"query": 'up{job="scraper"} == 1'}, timeout=timeout, trust_env=False
        )
        payload = response.json()
    except (httpx.HTTPError, ValueError):
        return set()
    if payload.get("status") != "success":
        return set()
    return {str(item["metric"].get("instance")) for item in payload["data"]["result"]}
