"""``run_doctor``: every probe against the configured platform, then every check's readiness."""

from __future__ import annotations

from opslib.adapters import scrape_all
from opslib.backups import tools_for
from opslib.config import Settings
from opslib.connect import open_database, open_platform, open_prometheus
from opslib.doctor._model import CHECKS, DoctorReport, Probe, readiness
from opslib.doctor._probes import (
    probe_backups,
    probe_docker,
    probe_metrics,
    probe_postgres,
    probe_prometheus,
    probe_proxies,
)
from opslib.errors import OpsError

__all__ = ["run_doctor"]


def run_doctor(settings: Settings) -> DoctorReport:
    """Reach every configured dependency with the configured timeouts and judge each check."""
    probes: list[Probe] = []
    pg_dump: str | OpsError
    try:
        db = open_database(settings, application_name="opslib-doctor")
    except OpsError as exc:
        probes += probe_postgres(exc, settings)
        pg_dump = exc
    else:
        with db:
            probes += probe_postgres(db, settings)
            try:
                pg_dump = str(tools_for(db, settings.backups).pg_dump)
            except OpsError as exc:
                pg_dump = exc
    with open_prometheus(settings) as prometheus:
        probes += probe_prometheus(prometheus, settings)
    snapshots = scrape_all(settings.metrics_urls, timeout=settings.timeouts.http)
    probes += probe_metrics(snapshots, settings)
    try:
        platform = open_platform(settings)
    except OpsError as exc:
        probes += probe_docker(exc, settings)
    else:
        with platform:
            probes += probe_docker(platform, settings)
    probes += probe_backups(settings, pg_dump)
    probes += probe_proxies(settings)
    return DoctorReport(tuple(probes), tuple(readiness(needs, probes) for needs in CHECKS))
