"""The lab's Prometheus: the real server binary, storage in the state directory."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import httpx

from opslib.errors import LabError
from opslib.lab._settings import LabSettings

__all__ = [
    "SCRAPE_INTERVAL",
    "find_prometheus",
    "find_promtool",
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


def _config(settings: LabSettings) -> str:
    # JSON is valid YAML: no YAML library needed to write it.
    targets = [f"127.0.0.1:{port}" for port in settings.metrics_ports]
    config = {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL,
                   "external_labels": {"lab": settings.project}},
        "scrape_configs": [
            {
                "job_name": "scraper",
                "scrape_timeout": "1500ms",
                "static_configs": [
                    {"targets": [target], "labels": {"service": "scraper", "worker": str(i + 1)}}
                    for i, target in enumerate(targets)
                ],
            }
        ],
    }  # fmt: skip
    return json.dumps(config, indent=2)


def prometheus_argv(settings: LabSettings, directory: Path) -> list[str]:
    """Write the configuration into ``directory``; return the server's command line."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "prometheus.yml"
    config.write_text(_config(settings))
    return [
        find_prometheus(),
        f"--config.file={config}",
        f"--storage.tsdb.path={directory / 'data'}",
        "--storage.tsdb.retention.time=2d",
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
