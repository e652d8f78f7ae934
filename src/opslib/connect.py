"""Adapters built from settings, in one place: the command line, the pytest fixtures, the lab
and services all open their PostgreSQL, Prometheus, metrics endpoints and Docker engine here.

Each function builds the adapter with the configured timeouts and connects on first use;
close what you open (each adapter is a context manager).
"""

from __future__ import annotations

from opslib.adapters import (
    ComposeScaling,
    Database,
    MetricsEndpoint,
    Platform,
    Prometheus,
    ScalingBackend,
    SwarmScaling,
)
from opslib.config import NO_DATABASE, Settings
from opslib.errors import ConfigError
from opslib.redact import redact

__all__ = [
    "describe_platform",
    "open_database",
    "open_metrics",
    "open_platform",
    "open_prometheus",
    "open_scaling",
]


def describe_platform(settings: Settings) -> str:
    """What the checks look at, for the top of every report: ``platform_name`` when set, else
    the database, Prometheus and compose project they reach (never a secret)."""
    if settings.platform_name:
        return settings.platform_name
    parts = []
    if settings.database_dsn is not None:
        parts.append(f"PostgreSQL {open_database(settings).target}")  # does not connect
    parts.append(f"Prometheus {redact(settings.prometheus_url)}")
    engine = redact(settings.docker_host) if settings.docker_host else "the local Docker engine"
    parts.append(f"compose project {settings.compose_project!r} on {engine}")
    return ", ".join(parts)


def open_database(
    settings: Settings,
    *,
    application_name: str = "opslib",
    statement_timeout: float | None = None,
) -> Database:
    """The platform database (``database_dsn``); ConfigError when none is configured."""
    if settings.database_dsn is None:
        raise ConfigError(NO_DATABASE)
    timeouts = settings.timeouts
    return Database(
        settings.database_dsn,
        connect_timeout=timeouts.connect,
        statement_timeout=timeouts.statement if statement_timeout is None else statement_timeout,
        application_name=application_name,
    )


def open_prometheus(settings: Settings) -> Prometheus:
    """The Prometheus server at ``prometheus_url``."""
    return Prometheus(settings.prometheus_url, timeout=settings.timeouts.http)


def open_metrics(settings: Settings) -> list[MetricsEndpoint]:
    """One endpoint per ``metrics_urls`` (every scraper's ``/metrics``)."""
    return [MetricsEndpoint(url, timeout=settings.timeouts.http) for url in settings.metrics_urls]


def open_platform(settings: Settings) -> Platform:
    """The compose project on the Docker engine at ``docker_host`` (default: the environment's)."""
    return Platform(
        settings.compose_project, docker_host=settings.docker_host, timeout=settings.timeouts.docker
    )


def open_scaling(settings: Settings, platform: Platform) -> ScalingBackend:
    """The ``scale.backend`` (compose or swarm) over ``platform``'s engine."""
    scale = settings.scale
    if scale.backend == "swarm":
        return SwarmScaling(platform, converge_timeout=scale.converge_timeout)
    return ComposeScaling(platform, stop_timeout=scale.stop_timeout)
