"""The probes of ``opslib doctor``: each configured dependency, reached with its timeouts, and the
names each check reads looked up in it. No probe changes anything."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from typing import Protocol

from opslib.adapters import ContainerInfo, Database, MetricsSnapshot
from opslib.config import Settings
from opslib.doctor._model import Probe
from opslib.errors import OpsError, UnreachableError
from opslib.quality import PlatformSchema, TableKey
from opslib.redact import redact

__all__ = [
    "ContainerProbe",
    "PromProbe",
    "probe_backups",
    "probe_docker",
    "probe_metrics",
    "probe_postgres",
    "probe_prometheus",
    "probe_proxies",
]


class PromProbe(Protocol):
    """What doctor needs of :class:`opslib.adapters.Prometheus`."""

    def probe(self) -> str: ...

    def scalar(self, promql: str) -> float | None: ...


class ContainerProbe(Protocol):
    """What doctor needs of :class:`opslib.adapters.Platform`."""

    def probe(self) -> str: ...

    def containers(self, service: str | None = None) -> list[ContainerInfo]: ...


def _down(key: str, dependency: str, item: str, exc: OpsError, fix: str) -> Probe:
    return Probe(key, dependency, item, False, redact(str(exc)), fix, unreachable=True)


def _table_probe(schema: PlatformSchema, key: str, table: TableKey, *fields: str) -> Probe:
    missing = schema.missing(table, *fields)
    name = schema.name(table)
    if missing is None:
        columns = ", ".join(schema.column_name(table, field) for field in fields)
        return Probe(key, "postgresql", f"table {name}", True, f"{name}: {columns}")
    return Probe(key, "postgresql", f"table {name}", False, missing, missing.split(": ", 1)[-1])


def probe_postgres(db: Database | OpsError, settings: Settings) -> list[Probe]:
    """The platform tables the checks read, opslib's schema, and pool usage."""
    fix_db = "set database_dsn (or OPSLIB_DATABASE_DSN) to the platform's database"
    keys = (
        "postgresql.monitored_urls",
        "postgresql.price_history",
        "postgresql.scrape_logs_proxy",
        "opslib.schema",
        "opslib.pool_usage",
    )
    if isinstance(db, OpsError):
        return [_down(key, "postgresql", key.split(".", 1)[1], db, fix_db) for key in keys]
    try:
        version = db.probe()
        schema = PlatformSchema.read(db, settings.tables)
    except OpsError as exc:
        return probe_postgres(exc, settings)
    probes = [
        Probe("postgresql", "postgresql", "server", True, f"PostgreSQL {version} at {db.target}"),
        _table_probe(schema, keys[0], "monitored_urls", "id", "domain"),
        _table_probe(
            schema, keys[1], "price_history", "url_id", "price", "extraction_confidence",
            "checked_at",
        ),
    ]  # fmt: skip
    outcome = "outcome" if schema.has("scrape_logs", "outcome") else "status_code"
    logs = _table_probe(schema, keys[2], "scrape_logs", "started_at", "proxy", outcome)
    if not logs.found:
        logs = dataclasses.replace(
            logs,
            item=f"{logs.item} proxy columns",
            fix=f"{logs.fix}; or let the scrapers lease through opslib's ProxyPool",
        )
    probes.append(logs)
    row = db.fetch_one("SELECT to_regclass('opslib.schema_migrations') IS NOT NULL AS ok")
    migrated = bool(row and row["ok"])
    probes.append(
        Probe(
            keys[3], "postgresql", "opslib schema", migrated,
            "migrated" if migrated else "opslib's schema is not in this database",
            "" if migrated else "opslib db migrate",
        )
    )  # fmt: skip
    usage = False
    if migrated:
        row = db.fetch_one("SELECT count(*) AS n FROM opslib.proxies WHERE requests > 0")
        usage = bool(row and row["n"])
    probes.append(
        Probe(
            keys[4], "postgresql", "proxy pool usage", usage,
            "proxies leased and reported" if usage else "no proxy of opslib's pool was used yet",
            "" if usage else "have the scrapers lease through opslib's ProxyPool",
        )
    )  # fmt: skip
    return probes


def probe_prometheus(prometheus: PromProbe | OpsError, settings: Settings) -> list[Probe]:
    """Prometheus and the metrics the checks query there."""
    names = settings.metric_names
    wanted = {
        "prometheus.errors": (names.errors, "the runbook's error counter"),
        "prometheus.requests": (names.requests, "a requests counter (for the error share)"),
        "prometheus.processed": (names.processed, "a processed-items counter"),
        "prometheus.queue": (names.queue, "queue size history (for growth)"),
    }
    where = redact(settings.prometheus_url)
    if isinstance(prometheus, OpsError):
        fix = f"set prometheus_url (now {where}) to a Prometheus that answers"
        return [_down(k, "prometheus", f"metric {n}", prometheus, fix) for k, (n, _) in
                wanted.items()]  # fmt: skip
    try:
        prometheus.probe()
    except OpsError as exc:
        return probe_prometheus(exc, settings)
    probes = []
    for key, (name, what) in wanted.items():
        try:
            count = prometheus.scalar(f"count({name})")
        except OpsError as exc:
            probes.append(_down(key, "prometheus", f"metric {name}", exc, ""))
            continue
        found = count is not None and count > 0
        field = key.split(".", 1)[1]
        probes.append(
            Probe(
                key, "prometheus", f"metric {name}", found,
                f"{count:.0f} series" if found else f"no {name} series ({what})",
                "" if found else f"have Prometheus scrape it, or set metric_names.{field}",
            )
        )  # fmt: skip
    return probes


def probe_metrics(
    snapshots: Sequence[MetricsSnapshot | OpsError], settings: Settings
) -> list[Probe]:
    """Each scraper's ``/metrics``: reached, and exporting the queue and processed counter."""
    names = settings.metric_names
    reached = [s for s in snapshots if isinstance(s, MetricsSnapshot)]
    failed = [s for s in snapshots if isinstance(s, OpsError)]
    detail = f"{len(reached)} of {len(snapshots)} endpoints answered"
    if failed:
        detail += f"; {redact(str(failed[0]))}"
    probes = []
    for key, name in (("metrics.queue", names.queue), ("metrics.processed", names.processed)):
        having = sum(1 for s in reached if (v := s.value(name)) is not None and math.isfinite(v))
        probes.append(
            Probe(
                key, "metrics", f"{name} on /metrics", having > 0,
                f"{having} of {len(snapshots)} endpoints export it; {detail}",
                "" if having else "set metrics_urls to every scraper's /metrics"
                f" (or metric_names.{key.split('.', 1)[1]})",
                unreachable=not reached and bool(failed),
            )
        )  # fmt: skip
    return probes


def probe_docker(platform: ContainerProbe | OpsError, settings: Settings) -> list[Probe]:
    """The Docker engine and the compose project's containers."""
    item = f"containers of compose project {settings.compose_project!r}"
    fix = "set docker_host (or DOCKER_HOST) to the engine running the project"
    if isinstance(platform, OpsError):
        return [_down("docker.project", "docker", item, platform, fix)]
    try:
        version = platform.probe()
        containers = platform.containers()
    except OpsError as exc:
        return [_down("docker.project", "docker", item, exc, fix)]
    services = sorted({c.service for c in containers})
    missing = sorted(set(settings.expected_services) - set(services))
    found = bool(containers)
    detail = (
        f"engine {version}: {len(containers)} containers, services {', '.join(services) or '-'}"
    )
    if missing:
        detail += f"; expected but absent: {', '.join(missing)}"
    return [
        Probe(
            "docker.project", "docker", item, found, detail,
            "" if found else "set compose_project to the project's name (its compose labels)",
        )
    ]  # fmt: skip


def probe_backups(settings: Settings, pg_dump: str | OpsError) -> list[Probe]:
    """The backup directory (writable) and a ``pg_dump`` of the server's major version."""
    folder = settings.backups.backup_dir
    writable = folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)
    probes = [
        Probe(
            "backups.directory", "backups", f"backup directory {folder}", writable,
            "writable" if writable else "missing or not writable",
            "" if writable else "create it, or set backups.backup_dir",
        )
    ]  # fmt: skip
    if isinstance(pg_dump, OpsError):
        probes.append(
            Probe(
                "backups.pg_dump", "backups", "pg_dump of the server's version", False,
                redact(str(pg_dump)), "install the matching client, or set backups.pg_bin_dir",
                unreachable=isinstance(pg_dump, UnreachableError),
            )
        )  # fmt: skip
    else:
        probes.append(
            Probe("backups.pg_dump", "backups", "pg_dump of the server's version", True, pg_dump)
        )
    return probes


def probe_proxies(settings: Settings) -> list[Probe]:
    """The proxy tester's judge (configured or not: reaching it is `opslib proxies test`)."""
    judge = settings.proxies.judge_url
    return [
        Probe(
            "proxies.judge", "proxies", "proxies.judge_url", judge is not None,
            redact(judge) if judge else "not set: opslib proxies test cannot run",
            "" if judge else "set proxies.judge_url (an httpbin /get, an azenv page, ...)",
        )
    ]  # fmt: skip
