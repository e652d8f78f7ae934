"""Settings: defaults < ``opslib.toml`` < ``OPSLIB_*`` environment < explicit overrides.

The file is ``$OPSLIB_CONFIG`` when set, else ``opslib.toml`` in the working directory.
Nothing is read at import time; call :func:`load_settings`.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import tomllib
from contextvars import ContextVar
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from opslib._config_env import PlainListEnvSource, unknown_variables
from opslib.errors import ConfigError
from opslib.redact import redact, remember_secrets
from opslib.results import Threshold
from opslib.thresholds import DEFAULT_THRESHOLDS

__all__ = [
    "NO_DATABASE",
    "BackupSettings",
    "CapacitySettings",
    "DomainControlSettings",
    "DomainSettings",
    "EmailChannel",
    "LogSettings",
    "MaintenanceSettings",
    "MetricNames",
    "MonitoredUrlsTable",
    "NotifySettings",
    "PlatformTables",
    "PriceHistoryTable",
    "ProcedureSettings",
    "ProxySettings",
    "QualitySettings",
    "RateLimitSettings",
    "ScaleSettings",
    "ScrapeLogsTable",
    "SecuritySettings",
    "Settings",
    "SiteSettings",
    "SlackChannel",
    "ThresholdSpec",
    "Timeouts",
    "UpdateSettings",
    "WebhookChannel",
    "config_path",
    "load_settings",
    "toml_value",
]

ENV_PREFIX = "OPSLIB_"
NO_DATABASE = (
    "postgresql: no database configured (set database_dsn in the config file or"
    " OPSLIB_DATABASE_DSN)"
)
"""The one message for "no database configured", wherever a database is needed."""
_config_file: ContextVar[Path | None] = ContextVar("opslib_config_file", default=None)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Timeouts(_Model):
    """Seconds allowed for each kind of network call."""

    connect: float = Field(3.0, gt=0, le=120)
    statement: float = Field(15.0, gt=0, le=3600)
    http: float = Field(5.0, gt=0, le=300)
    docker: float = Field(10.0, gt=0, le=300)


class ThresholdSpec(_Model):
    """An override of a default threshold; unset limits keep the default.

    When only ``crit`` is given and the default ``warn`` lies beyond it, ``warn`` follows
    ``crit`` (the tightened limit wins); a ``warn`` given beyond its ``crit`` is an error.
    """

    warn: float | None = Field(None, allow_inf_nan=False)
    crit: float | None = Field(None, allow_inf_nan=False)


class DomainSettings(_Model):
    """Per shop-domain overrides."""

    thresholds: dict[str, ThresholdSpec] = Field(default_factory=dict)


def _http_urls(cls: type, value: str | list[str] | None) -> str | list[str] | None:
    """Each URL is http(s) with a host and parses (a bracket left open is an error here, not a
    traceback in the first request)."""
    urls = [] if value is None else [value] if isinstance(value, str) else value
    for url in urls:
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError as exc:
            raise ValueError(f"not a valid URL: {redact(repr(url))} ({exc})") from exc
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {redact(repr(url))}")
    return value


def _url_secrets(urls: list[str | None]) -> list[str]:
    """The URLs that carry a password (remembered, so that no message shows it)."""
    return [url for url in urls if url and "@" in url and "://" in url]


_COUNTRY = re.compile(r"[A-Za-z]{2}")
_DOCKER_SCHEMES = ("unix", "tcp", "http", "https", "ssh", "npipe")


def _not_empty_path(cls: type, value: Any) -> Any:
    """An empty path would mean the working directory: refused."""
    if isinstance(value, str) and not value.strip():
        raise ValueError("empty path")
    return value


class ProxySettings(_Model):
    """The proxy pool: health model, backoff, testing, geographic requirements."""

    judge_url: str | None = Field(
        None, description="echoes the client's request as JSON (the lab's shop serves /judge)"
    )
    target_urls: list[str] = Field(default_factory=list)
    _http_url = field_validator("judge_url", "target_urls")(_http_urls)
    test_timeout: float = Field(5.0, gt=0, le=120, description="seconds per proxy")
    test_deadline: float = Field(60.0, gt=0, le=3600, description="seconds for a whole test run")
    test_concurrency: int = Field(50, ge=1, le=2000)
    health_sample: int = Field(10, ge=1, le=1000, description="proxies in a quick health test")
    decay_seconds: float = Field(600.0, gt=0, description="time constant of health decay")
    latency_alpha: float = Field(0.2, gt=0, le=1, description="weight of a new latency sample")
    failures_to_backoff: int = Field(3, ge=1, le=100)
    backoff_base: float = Field(30.0, gt=0, description="first backoff, seconds (then doubled)")
    backoff_max: float = Field(3600.0, gt=0)
    max_concurrency: int = Field(8, ge=1, le=10_000, description="leases per proxy at once")
    lease_seconds: float = Field(
        300.0, gt=0, description="a lease not reported within this is presumed lost"
    )
    min_success_rate: float = Field(0.5, ge=0, le=1, description="below it a proxy is unhealthy")
    required_countries: dict[str, int] = Field(
        default_factory=dict, description="country code -> minimum healthy proxies"
    )
    ban_window_hours: int = Field(24 * 7, ge=1, le=24 * 90)
    encryption_keys: list[SecretStr] = Field(
        default_factory=list,
        description="Fernet keys sealing proxy passwords at rest: the first seals, all open",
    )

    @field_validator("encryption_keys")
    @classmethod
    def _fernet_keys(cls, value: list[SecretStr]) -> list[SecretStr]:
        for number, key in enumerate(value, 1):
            try:
                raw = base64.urlsafe_b64decode(key.get_secret_value().encode("ascii"))
            except (binascii.Error, UnicodeEncodeError, ValueError):
                raise ValueError(f"key {number} is not URL-safe base64 (a Fernet key)") from None
            if len(raw) != 32:
                raise ValueError(f"key {number} decodes to {len(raw)} bytes, a Fernet key has 32")
        return value

    @field_validator("required_countries")
    @classmethod
    def _countries(cls, value: dict[str, int]) -> dict[str, int]:
        for code, minimum in value.items():
            if not _COUNTRY.fullmatch(code):
                raise ValueError(f"{code!r} is not a two-letter country code (e.g. US)")
            if minimum < 0:
                raise ValueError(f"{code}: minimum {minimum} is negative")
        # Lower case, as the pool stores a proxy's country (rotation compares them directly).
        lower = {code.lower(): minimum for code, minimum in value.items()}
        if len(lower) != len(value):
            raise ValueError("a country is listed twice (codes are case-insensitive)")
        return lower


_METRIC_NAME = r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"
_LABEL_NAME = r"^[a-zA-Z_][a-zA-Z0-9_]*$"


class MetricNames(_Model):
    """The platform's metric and label names (defaults: the runbook's and the lab's).

    The runbook names ``scraper_errors_total`` (Prometheus) and ``queue_size`` (each scraper's
    ``/metrics``); every other metric is optional and used when present (docs/platform.md).
    Names are checked against Prometheus' own syntax, so nothing else can reach a query.
    """

    errors: str = Field(
        "scraper_errors_total", pattern=_METRIC_NAME, description="failed fetches (runbook)"
    )
    requests: str = Field(
        "scraper_requests_total",
        pattern=_METRIC_NAME,
        description="fetch attempts (optional: the error share needs it)",
    )
    processed: str = Field(
        "scraper_processed_total",
        pattern=_METRIC_NAME,
        description="items processed (optional: Prometheus or the scrapers' /metrics)",
    )
    queue: str = Field(
        "queue_size", pattern=_METRIC_NAME, description="queue gauge on each scraper's /metrics"
    )
    domain_label: str = Field(
        "domain", pattern=_LABEL_NAME, description="the label naming the shop domain"
    )
    reason_label: str | None = Field(
        None,
        pattern=_LABEL_NAME,
        description="the errors counter's label saying why a fetch failed (optional; default:"
        " any of reason, kind, outcome, status, code, error, type, cause)",
    )
    sample_seconds: float = Field(
        5.0,
        gt=0,
        le=30,
        description="seconds between two /metrics samples when Prometheus lacks a series",
    )
    request_duration: str = Field(
        "scraper_request_duration_seconds",
        pattern=_METRIC_NAME,
        description="a histogram of fetch times in seconds (optional: the weekly review's p50/p95)",
    )
    cache_hits: str = Field(
        "scraper_cache_hits_total",
        pattern=_METRIC_NAME,
        description="pages answered 304 Not Modified (optional: the overload cache hit rate)",
    )
    container_cpu: str = Field(
        "container_cpu_usage_seconds_total",
        pattern=_METRIC_NAME,
        description="containers' CPU seconds (optional, cAdvisor's name: resource trends)",
    )
    container_memory: str = Field(
        "container_memory_working_set_bytes",
        pattern=_METRIC_NAME,
        description="containers' memory in use (optional, cAdvisor's name: resource trends)",
    )
    service_label: str = Field(
        "container_label_com_docker_compose_service",
        pattern=_LABEL_NAME,
        description="the container metrics' label naming the compose service",
    )


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,62}")


def _identifier(value: str) -> str:
    """A column name: one SQL identifier (letters, digits, ``_``, ``$``; at most 63)."""
    if not _IDENTIFIER.fullmatch(value):
        raise ValueError(f"not an SQL identifier: {value!r}")
    return value


def _table_name(value: str) -> str:
    """A table name: ``table`` or ``schema.table``, each part an SQL identifier."""
    parts = value.split(".")
    if len(parts) > 2 or not all(_IDENTIFIER.fullmatch(p) for p in parts):
        raise ValueError(f"not a table name (table or schema.table): {value!r}")
    return value


class _Table(_Model):
    @field_validator("*")
    @classmethod
    def _identifiers(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str):
            return _table_name(value) if info.field_name == "name" else _identifier(value)
        return value


class MonitoredUrlsTable(_Table):
    """``monitored_urls``: the URLs watched and their shop domain (runbook)."""

    name: str = "monitored_urls"
    id: str = "id"
    domain: str = "domain"
    url: str = "url"
    check_interval: str = "check_interval"  # optional: else quality.default_interval_minutes
    active: str = "active"  # optional: without it every URL counts as monitored
    priority: str = "priority"  # optional: opslib urls --priority needs it (urls.priorities)


class PriceHistoryTable(_Table):
    """``price_history``: one row per price check (runbook Daily 3)."""

    name: str = "price_history"
    url_id: str = "url_id"
    price: str = "price"
    extraction_confidence: str = "extraction_confidence"
    checked_at: str = "checked_at"
    currency: str = "currency"  # optional: without it currency changes are not looked for


class ScrapeLogsTable(_Table):
    """``scrape_logs``: one row per request. The runbook names only the table; its proxy columns
    are optional (without them proxy performance comes from opslib's own pool)."""

    name: str = "scrape_logs"
    started_at: str = "started_at"
    domain: str = "domain"
    proxy: str = "proxy"
    proxy_country: str = "proxy_country"
    duration_ms: str = "duration_ms"
    outcome: str = "outcome"
    status_code: str = "status_code"
    proxy_fault_outcomes: tuple[str, ...] = Field(
        ("proxy_error", "timeout", "banned"),
        description="outcome values that are the proxy's fault (not a shop's 5xx or a parse error)",
    )
    proxy_fault_statuses: tuple[int, ...] = Field(
        (401, 403, 407, 429, 451),
        description="without an outcome column: status codes that are the proxy's fault"
        " (no status at all, i.e. no response, is one too)",
    )


class PlatformTables(_Model):
    """The platform's table and column names (defaults: the runbook's SQL).

    They reach SQL only through ``psycopg.sql.Identifier`` (docs/platform.md lists which check
    reads which). A table may be schema-qualified (``shop.prices``).
    """

    monitored_urls: MonitoredUrlsTable = Field(default_factory=MonitoredUrlsTable)
    price_history: PriceHistoryTable = Field(default_factory=PriceHistoryTable)
    scrape_logs: ScrapeLogsTable = Field(default_factory=ScrapeLogsTable)


class QualitySettings(_Model):
    """The per-domain quality measures (``opslib quality by-domain``, checks/emergency).

    A price more than ``price_jump_percent`` away from the same URL's previous price is
    implausible; a URL not checked within ``overdue_factor`` of its interval (the
    ``check_interval`` column, else ``default_interval_minutes``) is overdue. Drift compares the
    window with the same window on each of the last ``drift_days`` days: a figure is judged
    against the threshold in sigmas, the sigma floored so that a change smaller than
    ``drift_*_points`` never counts.
    """

    price_jump_percent: float = Field(50.0, gt=0, le=100_000)
    overdue_factor: float = Field(3.0, ge=1, le=1000)
    default_interval_minutes: float = Field(60.0, gt=0, le=31 * 24 * 60)
    drift_days: int = Field(7, ge=2, le=31)
    drift_confidence_points: float = Field(0.05, ge=0, le=1)
    drift_missing_points: float = Field(0.05, ge=0, le=1)


class BackupSettings(_Model):
    """Backups: where they go, what they hold, how long they are kept.

    How old the newest (and newest verified) backup may be are thresholds, like every other
    limit a check judges: ``backups.newest_age`` (the RPO) and ``backups.verified_age``.
    """

    @model_validator(mode="before")
    @classmethod
    def _moved_limits(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for old, new in _MOVED_BACKUP_LIMITS.items():
                if old in data:
                    raise ValueError(
                        f"backups.{old} is now the crit of threshold {new}:"
                        f' [thresholds."{new}"] crit = {data[old]}'
                    )
        return data

    backup_dir: Path = Path("/var/backups/opslib")
    config_paths: list[Path] = Field(default_factory=list)
    _paths = field_validator("backup_dir", "pg_bin_dir", mode="before")(_not_empty_path)

    @field_validator("config_paths", mode="before")
    @classmethod
    def _config_paths(cls, value: Any) -> Any:
        if isinstance(value, list):
            for path in value:
                _not_empty_path(cls, path)
        return value

    keep_daily: int = Field(7, ge=0, le=3660)
    keep_weekly: int = Field(4, ge=0, le=520)
    keep_monthly: int = Field(6, ge=0, le=240)
    min_count: int = Field(3, ge=1, le=10000)
    emergency_exempt_hours: float = Field(72.0, ge=0)
    pg_bin_dir: Path | None = None
    dump_timeout: float = Field(6 * 3600.0, gt=0)
    restore_timeout: float = Field(6 * 3600.0, gt=0)


_MOVED_BACKUP_LIMITS = {
    "rpo_hours": "backups.newest_age",
    "verified_max_age_days": "backups.verified_age",
}


class CapacitySettings(_Model):
    """Capacity planning (``opslib capacity report``, checks/monthly) and the weekly review.

    A volume's size is the disk's (``shutil.disk_usage``) unless given here: the database's
    when the server is not on this machine, or a smaller limit (a quota). Scraper replicas
    needed are forecast requests per day over ``requests_per_replica``.
    """

    history_days: int = Field(180, ge=14, le=3 * 366, description="days of history read")
    horizons: tuple[Annotated[int, Field(ge=1, le=3650)], ...] = Field(
        (30, 90, 180), min_length=1, description="days ahead each forecast is shown for"
    )
    backtest_days: int = Field(30, ge=7, le=366, description="days held out by the backtest")
    database_volume_bytes: int | None = Field(None, gt=0)
    backup_volume_bytes: int | None = Field(None, gt=0)
    requests_per_replica: float | None = Field(
        None, gt=0, description="requests per day one scraper replica handles"
    )


class ScaleSettings(_Model):
    """``opslib scale`` and ``opslib limits``: the platform backend and the ceiling.

    ``backend`` ``compose`` starts and stops containers of the compose project on one engine;
    ``swarm`` scales the Swarm service ``<compose_project>_<service>`` (else ``<service>``).
    """

    backend: Literal["compose", "swarm"] = "compose"
    max_replicas: int = Field(20, ge=1, le=1000, description="a scale above this is refused")
    stop_timeout: float = Field(
        10.0, ge=0, le=600, description="seconds a stopped replica gets before SIGKILL"
    )
    converge_timeout: float = Field(
        120.0, gt=0, le=3600, description="seconds a swarm scale may take before it is reported"
    )


class MaintenanceSettings(_Model):
    """Maintenance mode: how services see it (``MaintenanceMode.is_active``) and window limits.

    ``when_unreachable`` is what ``is_active`` answers while the database cannot be read:
    ``last_known`` (the default) keeps the last answer read, so a database restarted during
    maintenance (migrations) does not wake the fleet and a blip outside maintenance does not
    stop it; ``assume_on`` pauses, ``assume_off`` carries on. Before any answer was read,
    ``last_known`` means off.
    """

    cache_seconds: float = Field(
        5.0, ge=0, le=300, description="is_active() answers from memory this long (0: every call)"
    )
    when_unreachable: Literal["assume_off", "assume_on", "last_known"] = "last_known"
    default_minutes: float = Field(
        120.0,
        gt=0,
        le=7 * 24 * 60,
        description="expected length of a window opened without --until",
    )
    max_hours: float = Field(
        7 * 24.0,
        gt=0,
        le=90 * 24,
        description="an expected end further ahead is refused (such a window is never stuck)",
    )


class RateLimitSettings(_Model):
    """Per-domain rate limits every replica shares (``opslib.ratelimit.RateLimiter``).

    A domain without a limit of its own (``opslib ratelimit set``) gets ``default_rate`` and
    ``default_burst``: a domain is never scraped without a limit. Permits are reserved from the
    database in batches sized to about ``batch_seconds`` of a process's demand (at most
    ``max_batch``); an unused permit lapses after at most ``hold_seconds``.
    """

    default_rate: float = Field(10.0, gt=0, le=1_000_000, description="permits per second")
    default_burst: int = Field(20, ge=1, le=1_000_000)
    batch_seconds: float = Field(0.1, gt=0, le=10)
    max_batch: int = Field(500, ge=1, le=100_000)
    hold_seconds: float = Field(1.0, gt=0, le=60)
    lease_seconds: float = Field(
        120.0, gt=0, le=3600, description="a concurrency lease never released expires then"
    )


class UrlControlSettings(_Model):
    """Pausing and slowing monitored URLs (``opslib urls pause|resume|interval``).

    ``priorities`` names ranges of the priority column (inclusive), so ``--priority low`` means
    what the platform means by it (the lab: 1 is the highest, 10 the lowest). A pause lasts
    ``default_pause_hours`` unless ``--for`` says otherwise, at most ``max_pause_hours``. A
    changed interval stays within ``interval_floor_seconds`` and ``interval_ceiling_seconds``;
    a factor at most ``max_factor`` (or its inverse).
    """

    priorities: dict[str, tuple[int, int]] = Field(
        default_factory=lambda: {"high": (1, 3), "normal": (4, 6), "low": (7, 10)},
        description="name -> (lowest, highest) priority value it covers",
    )
    default_pause_hours: float = Field(2.0, gt=0, le=24 * 31)
    max_pause_hours: float = Field(72.0, gt=0, le=24 * 31)
    interval_floor_seconds: float = Field(5.0, gt=0)
    interval_ceiling_seconds: float = Field(7 * 24 * 3600.0, gt=0)
    max_factor: float = Field(10.0, ge=1, le=1000)

    @field_validator("priorities")
    @classmethod
    def _ranges(cls, value: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
        for name, (low, high) in value.items():
            if not re.fullmatch(r"[a-z][a-z0-9_-]*", name) or low > high:
                raise ValueError(f"priorities.{name}: a lower-case name and (lowest, highest)")
        return value

    @model_validator(mode="after")
    def _bounds(self) -> UrlControlSettings:
        if self.interval_floor_seconds > self.interval_ceiling_seconds:
            raise ValueError("interval_floor_seconds is above interval_ceiling_seconds")
        return self


class DomainControlSettings(_Model):
    """Cooldown, pause and strategies (``opslib.domains.DomainControls``), and auto-cooldown.

    ``is_allowed`` and ``strategy`` read the database at most once per ``cache_seconds``. Auto-
    cooldown starts a cooldown of ``cooldown_minutes`` on a domain whose share of banned
    requests in ``scrape_logs`` over the last ``ban_window_minutes`` reaches ``ban_share``
    (with at least ``min_requests`` requests); with ``auto_cooldown`` the scrapers run it every
    ``auto_every_seconds``, else ``opslib domains auto-cooldown`` does (cron, a check).
    """

    cache_seconds: float = Field(5.0, ge=0, le=300)
    ban_share: float = Field(0.5, gt=0, le=1)
    ban_window_minutes: float = Field(5.0, gt=0, le=24 * 60)
    min_requests: int = Field(20, ge=1)
    cooldown_minutes: float = Field(30.0, gt=0, le=7 * 24 * 60)
    ban_outcomes: tuple[str, ...] = Field(
        ("banned",), description="scrape_logs outcome values that are a ban"
    )
    ban_statuses: tuple[int, ...] = Field(
        (403, 429), description="without an outcome column: status codes that are a ban"
    )
    auto_cooldown: bool = Field(
        False, description="scrapers run auto-cooldown (else: opslib domains auto-cooldown)"
    )
    auto_every_seconds: float = Field(
        30.0, gt=0, le=3600, description="how often a scraper runs auto-cooldown"
    )
    max_cooldown_hours: float = Field(168.0, gt=0, description="a longer --for is refused")


class SecuritySettings(_Model):
    """Security incident response (``opslib security``, :mod:`opslib.security`).

    ``access_logs`` are the API's access logs (combined/common format or JSON lines) the
    analysis and checks/emergency/security read over the last ``window``; ``db_log`` optionally
    a PostgreSQL log with authentication failures. ``allowlist`` (admin networks, the platform's
    own hosts, monitoring) can never be blocked, nor can the operator's own address; a block
    cutting off more than ``max_legit_share`` of recent legitimate requests is refused.
    ``is_blocked`` reads the blocklist at most once per ``cache_seconds``.
    """

    access_logs: list[Path] = Field(default_factory=list)
    service: str = Field("api", description="the API's service, for its container logs")
    db_log: Path | None = Field(None, description="PostgreSQL log: authentication failures")
    window: str = Field("1h", pattern=r"^[1-9][0-9]*[smhd]$")
    allowlist: list[str] = Field(
        default_factory=list, description="networks never blocked: admin, own hosts, monitoring"
    )
    operator_addresses: list[str] = Field(
        default_factory=list, description="the operators' own addresses (never blocked)"
    )
    max_legit_share: float = Field(0.05, gt=0, le=1)
    cache_seconds: float = Field(5.0, ge=0, le=300)
    default_block: str = Field("24h", pattern=r"^[1-9][0-9]*[smhd]$")
    max_block_days: float = Field(365.0, gt=0)
    blocked_status: int = Field(403, ge=400, le=599, description="the API's answer to a block")
    min_requests: int = Field(20, ge=1, description="fewer requests: rate and errors not judged")
    burst_factor: float = Field(5.0, gt=1)
    burst_min: int = Field(60, ge=1, description="requests in a minute before it is a burst")
    max_clients: int = Field(1_000_000, ge=100, description="clients tracked one by one")
    nft_table: str = Field("opslib", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,31}$")
    key_pepper: SecretStr | None = Field(
        None, description="the server-side secret API keys are hashed with (HMAC-SHA256)"
    )
    key_overlap: str = Field(
        "24h", pattern=r"^[0-9]+[smhd]$", description="an old key's life after a rotation"
    )
    db_secret_file: Path | None = Field(
        None, description="the KEY=value file the services read the database password from"
    )
    db_secret_variable: str = Field("DATABASE_PASSWORD", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    db_role: str | None = Field(None, description="the role rotated (default: the DSN's user)")
    db_services: list[str] = Field(
        default_factory=list, description="restarted in this order after a rotation"
    )
    health_urls: dict[str, str] = Field(
        default_factory=dict,
        description="service -> its health endpoint, asked between replicas by security patch",
    )

    @field_validator("allowlist", "operator_addresses")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for item in value:
            try:
                ipaddress.ip_network(item.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or CIDR") from None
        return value


class LogSettings(_Model):
    """Log pattern mining (``opslib logs patterns``, :class:`opslib.logs.PatternMiner`): its
    memory bounds, how alike two messages must be to share a template, and the header."""

    max_templates: int = Field(
        1000, ge=10, le=100_000, description="patterns kept; when full the rarest merge into one"
    )
    max_line_chars: int = Field(
        4096, ge=80, le=1_048_576, description="a longer line is cut to this before mining"
    )
    max_tokens: int = Field(128, ge=4, le=4096, description="tokens of a message compared")
    similarity: float = Field(
        0.5, gt=0, le=1, description="share of equal tokens for a message to join a template"
    )
    header_pattern: str | None = Field(
        None,
        description="regex of a line with a (?P<message>...) group, optional (?P<time>...) and"
        " (?P<level>...) (default: the header is found by itself)",
    )
    baseline_file: Path = Field(
        Path("reports/log-patterns.json"),
        description="the baseline --new compares with when --baseline is not given",
    )
    files: list[Path] = Field(
        default_factory=list,
        description="the scrapers' log files, read instead of their containers' logs",
    )
    tail_bytes: int = Field(
        16 << 20, ge=4096, le=1 << 34, description="bytes read from the end of each log file"
    )


class ProcedureSettings(_Model):
    """The maintenance procedure (``opslib maintenance run`` / ``emergency``): what its steps
    act on and how long they wait. A plan file's ``[step.<name>]`` options override these."""

    migrations_dir: Path | None = Field(
        None, description="the platform's migrations: NNNN_name.sql files applied in order"
    )
    config_set: Path | None = Field(
        None, description="a folder with the new version of each backups.config_paths file"
    )
    services: list[str] = Field(
        default_factory=list, description="services to stop and start (empty: all of the project)"
    )
    stop_timeout: float = Field(30.0, gt=0, le=3600, description="seconds before SIGKILL")
    start_timeout: float = Field(120.0, gt=0, le=3600, description="seconds to be running")
    health_seconds: float = Field(120.0, gt=0, le=3600, description="seconds to turn healthy")
    data_flow_seconds: float = Field(
        600.0, gt=0, le=24 * 3600, description="seconds for every expected domain to deliver"
    )
    expected_domains: list[str] = Field(
        default_factory=list, description="domains that must deliver (empty: all monitored)"
    )
    window_minutes: float = Field(
        120.0, gt=0, le=7 * 24 * 60, description="expected length of the maintenance window"
    )
    registry_url: str | None = Field(
        None, description="the registry images come from (default: Docker Hub)"
    )
    pull_required: bool = Field(False, description="fail the run when images cannot be pulled")


_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_RESOLVE_HOST = re.compile(rf"^(\*\.)?{_LABEL}(\.{_LABEL})*$")


class UpdateSettings(_Model):
    """Security updates (``opslib updates``, checks/monthly): the TLS endpoints whose
    certificates are dated, and how ``apply`` rebuilds images and renews certificates."""

    endpoints: list[str] = Field(
        default_factory=list, description="TLS endpoints: host:port or https:// URLs"
    )
    ca_file: Path | None = Field(None, description="CA bundle to trust (default: the system's)")
    timeout: float | None = Field(
        None, gt=0, le=120, description="seconds per TLS handshake (default: timeouts.connect)"
    )
    check_registry: bool = Field(
        True, description="ask the registry (through the engine) for each pulled image's tag"
    )
    services: list[str] = Field(
        default_factory=list, description="services apply updates (empty: all of the project)"
    )
    build_contexts: dict[str, Path] = Field(
        default_factory=dict, description="service -> directory its image is rebuilt from"
    )
    dockerfiles: dict[str, str] = Field(
        default_factory=dict, description="service -> Dockerfile in its build context"
    )
    stop_timeout: float = Field(10.0, gt=0, le=3600, description="seconds before SIGKILL")
    start_timeout: float = Field(
        120.0, gt=0, le=3600, description="seconds a recreated container has to be running"
    )
    certbot_command: list[str] = Field(
        default_factory=list, description="the certbot renew command (empty: not run)"
    )
    certbot_timeout: float = Field(300.0, gt=0, le=3600)
    _paths = field_validator("ca_file", mode="before")(_not_empty_path)

    @field_validator("endpoints")
    @classmethod
    def _endpoints(cls, value: list[str]) -> list[str]:
        from opslib.errors import InputError
        from opslib.updates._certs import Endpoint

        for endpoint in value:
            try:
                Endpoint.parse(endpoint)
            except InputError as exc:
                raise ValueError(str(exc)) from exc
        return value


class SiteSettings(_Model):
    """Site verification (``opslib sites verify``): the request timeout, how many pool proxies
    each site is also fetched through, and what tells a shop's page from a block page."""

    timeout: float | None = Field(
        None, gt=0, le=300, description="seconds per request, all stages (default: timeouts.http)"
    )
    via_proxies: int = Field(
        3, ge=0, le=100, description="pool proxies (a random sample) every site is fetched through"
    )
    concurrency: int = Field(
        500, ge=1, le=20_000, description="requests in flight at once (each round: direct, proxies)"
    )
    change_pages: int = Field(
        3, ge=1, le=50, description="pages per domain `sites changes` compares with a baseline"
    )
    content_markers: dict[str, str] = Field(
        default_factory=dict,
        description="domain -> text its pages always hold ('*': every domain); default: a"
        " price or product marker",
    )
    resolve: dict[str, str] = Field(
        default_factory=dict,
        description="host (or *.suffix) -> IP address used instead of DNS, as curl --resolve",
    )
    ca_file: Path | None = Field(None, description="CA bundle to trust (default: the system's)")
    user_agent: str = Field("Mozilla/5.0 (compatible; opslib-sites/1)", min_length=1)
    _paths = field_validator("ca_file", mode="before")(_not_empty_path)

    @field_validator("resolve")
    @classmethod
    def _addresses(cls, value: dict[str, str]) -> dict[str, str]:
        import ipaddress

        for host, address in value.items():
            if not _RESOLVE_HOST.match(host.lower()):
                raise ValueError(f"{host!r} is not a host name or *.suffix")
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise ValueError(f"{host}: {address!r} is not an IP address") from None
        return {host.lower(): address for host, address in value.items()}


NoticeKind = Literal["maintenance", "completion", "alert"]
_NOTICE_KINDS: tuple[NoticeKind, ...] = ("maintenance", "completion", "alert")
_CHANNEL_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_MIN_TOKEN = 8  # shorter pieces of a webhook URL are not worth masking (and mask too much)


def _webhook_url(cls: type, value: SecretStr) -> SecretStr:
    """An http(s) URL with a host; the message never shows it (its path holds the token)."""
    try:
        parts = urlsplit(value.get_secret_value())
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ValueError("not a valid URL (not shown: a webhook URL is a secret)") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not an http(s) URL (not shown: a webhook URL is a secret)")
    return value


def _webhook_secrets(url: str) -> tuple[str, ...]:
    """What masks a webhook URL in messages: its password and the tokens in its path and
    query (pieces of at least 8 characters; ``=`` and ``&`` split them)."""
    parts = urlsplit(url)
    found = [parts.password or "", parts.path, *re.split(r"[=&;]", parts.query)]
    return tuple(p for p in found if len(p) >= _MIN_TOKEN)


class _Channel(_Model):
    name: str | None = Field(
        None, pattern=_CHANNEL_NAME, description="shown in output and the audit log"
    )
    kinds: tuple[NoticeKind, ...] = Field(
        _NOTICE_KINDS, min_length=1, description="what it carries: maintenance, completion, alert"
    )
    ca_file: Path | None = Field(
        None, description="CA bundle to trust (default: the system's, or $SSL_CERT_FILE)"
    )


class SlackChannel(_Channel):
    """A Slack (or Mattermost, Rocket.Chat ...) incoming webhook: ``{"text", "blocks"}``."""

    type: Literal["slack"]
    url: SecretStr = Field(description="the incoming-webhook URL (its path is the token)")
    _url = field_validator("url")(_webhook_url)

    @property
    def label(self) -> str:
        """The name, else ``slack:host``: how output and the audit log call it."""
        return self.name or f"slack:{urlsplit(self.url.get_secret_value()).hostname}"


class WebhookChannel(_Channel):
    """A generic JSON POST (``opslib.notify``'s schema: kind, subject, text, fields, items)."""

    type: Literal["webhook"]
    url: SecretStr = Field(description="where to POST (a token in it stays secret)")
    _url = field_validator("url")(_webhook_url)

    @property
    def label(self) -> str:
        """The name, else ``webhook:host``."""
        return self.name or f"webhook:{urlsplit(self.url.get_secret_value()).hostname}"


_ADDRESS = re.compile(r"[^@\s<>]+@[^@\s<>]+")


class EmailChannel(_Channel):
    """E-mail over SMTP: STARTTLS (default, port 587), implicit TLS (465) or none (25)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    type: Literal["email"]
    host: str = Field(min_length=1, pattern=r"^[^\s/:@]+$")
    port: int | None = Field(None, ge=1, le=65535, description="default by security")
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    sender: str = Field(alias="from", description="the From address")
    to: list[str] = Field(min_length=1)

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        return _address(value)

    @field_validator("to")
    @classmethod
    def _recipients(cls, value: list[str]) -> list[str]:
        return [_address(v) for v in value]

    @model_validator(mode="after")
    def _safe_auth(self) -> EmailChannel:
        if self.password is not None and self.username is None:
            raise ValueError("a password needs a username")
        if self.password is not None and self.security == "none":
            raise ValueError(
                'refusing to send an SMTP password unencrypted: security = "starttls" or "tls"'
            )
        return self

    @property
    def smtp_port(self) -> int:
        """The port, else 587 (STARTTLS), 465 (TLS) or 25."""
        return self.port or {"starttls": 587, "tls": 465, "none": 25}[self.security]

    @property
    def label(self) -> str:
        """The name, else ``email:host``."""
        return self.name or f"email:{self.host}"


def _address(value: str) -> str:
    """One e-mail address (``ops@example.com`` or ``Ops <ops@example.com>``), one line."""
    if "\r" in value or "\n" in value or not _ADDRESS.search(value):
        raise ValueError(f"not an e-mail address: {value!r}")
    return value


Channel = Annotated[SlackChannel | WebhookChannel | EmailChannel, Field(discriminator="type")]


class NotifySettings(_Model):
    """Notices and alerts (``opslib notify``, ``--ops-notify``): channels and what they say.

    Webhook URLs and SMTP passwords are secrets: output, reports, logs and the audit log name
    a channel by ``name`` (else type and host), never by its URL.
    """

    channels: list[Channel] = Field(default_factory=list)
    contact: str | None = Field(
        None, description="whom to contact, in every notice (default: who sends it)"
    )
    timezone: str = Field("UTC", description="IANA zone the notices give times in")
    timeout: float = Field(10.0, gt=0, le=120, description="seconds per attempt")
    attempts: int = Field(3, ge=1, le=10, description="tries per channel for transient failures")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name: Europe/Berlin)") from None
        return value

    @field_validator("channels")
    @classmethod
    def _unique(cls, value: list[Channel]) -> list[Channel]:
        labels = [channel.label for channel in value]
        twice = sorted({label for label in labels if labels.count(label) > 1})
        if twice:
            raise ValueError(f"two channels are called {', '.join(twice)}: give each a name")
        return value

    def secrets(self) -> tuple[str, ...]:
        """The channels' secrets, in forms :func:`~opslib.redact.redact` masks."""
        found: list[str] = []
        for channel in self.channels:
            if isinstance(channel, EmailChannel):
                if channel.password is not None:
                    password = channel.password.get_secret_value()
                    # redact() skips a secret holding "=": its pieces are masked instead.
                    found += [password, *(p for p in password.split("=") if len(p) >= 4)]
            else:
                found.extend(_webhook_secrets(channel.url.get_secret_value()))
        return tuple(found)


class Settings(BaseSettings):
    """Everything opslib needs to reach the platform and judge it."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True
    )

    database_dsn: SecretStr | None = None
    prometheus_url: str = "http://localhost:9090"
    metrics_urls: list[str] = Field(default_factory=lambda: ["http://localhost:8000/metrics"])
    docker_host: str | None = None
    compose_project: str = "pricewatch"
    scraper_service: str = "scraper"
    expected_services: list[str] = Field(default_factory=lambda: ["scraper"])
    platform_name: str | None = Field(
        None, description="what reports call the checked platform (default: where it is)"
    )
    oneshot_services: list[str] = Field(
        default_factory=list,
        description="services whose containers run once and exit 0 (migrations, seeds)",
    )
    timeouts: Timeouts = Field(default_factory=Timeouts)
    thresholds: dict[str, ThresholdSpec] = Field(default_factory=dict)
    domains: dict[str, DomainSettings] = Field(default_factory=dict)
    error_window: str = Field("1h", pattern=r"^[1-9][0-9]*[smhd]$")
    rate_window: str = Field("5m", pattern=r"^[1-9][0-9]*[smhd]$")
    quality_hours: int = Field(24, ge=1, le=24 * 31)
    quality_min_rows: int = Field(20, ge=1)
    recent_minutes: int = Field(60, ge=1, le=24 * 60)
    proxy_window_minutes: int = Field(60, ge=1, le=24 * 60)
    stats_sample_seconds: float = Field(0.5, gt=0, le=10)
    metric_names: MetricNames = Field(default_factory=MetricNames)
    tables: PlatformTables = Field(default_factory=PlatformTables)
    quality: QualitySettings = Field(default_factory=QualitySettings)
    proxies: ProxySettings = Field(default_factory=ProxySettings)
    backups: BackupSettings = Field(default_factory=BackupSettings)
    capacity: CapacitySettings = Field(default_factory=CapacitySettings)
    maintenance: MaintenanceSettings = Field(default_factory=MaintenanceSettings)
    scale: ScaleSettings = Field(default_factory=ScaleSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    procedure: ProcedureSettings = Field(default_factory=ProcedureSettings)
    logs: LogSettings = Field(default_factory=LogSettings)
    sites: SiteSettings = Field(default_factory=SiteSettings)
    ratelimit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    domain_controls: DomainControlSettings = Field(default_factory=DomainControlSettings)
    urls: UrlControlSettings = Field(default_factory=UrlControlSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    updates: UpdateSettings = Field(default_factory=UpdateSettings)
    actor: str | None = None
    log_level: Literal["debug", "info", "warning", "error"] = "warning"

    _http_url = field_validator("prometheus_url", "metrics_urls")(_http_urls)

    @field_validator("database_dsn", mode="before")
    @classmethod
    def _empty_dsn(cls, value: Any) -> Any:
        """An empty DSN is no DSN (libpq would take it as the local socket)."""
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        return None if isinstance(text, str) and not text.strip() else value

    @field_validator("metrics_urls")
    @classmethod
    def _some_metrics(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one URL is needed (every scraper's /metrics)")
        return value

    @field_validator("docker_host", mode="before")
    @classmethod
    def _docker_host(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None  # unset: the environment's DOCKER_HOST
        if isinstance(value, str) and value.partition("://")[0] not in _DOCKER_SCHEMES:
            schemes = ", ".join(f"{s}://" for s in _DOCKER_SCHEMES)
            raise ValueError(f"{redact(repr(value))} is not a Docker address ({schemes})")
        return value

    @field_validator("thresholds")
    @classmethod
    def _known_thresholds(cls, value: dict[str, ThresholdSpec]) -> dict[str, ThresholdSpec]:
        unknown = sorted(set(value) - set(DEFAULT_THRESHOLDS))
        if unknown:
            raise ValueError(f"unknown threshold name(s): {', '.join(unknown)}")
        for name, spec in value.items():
            _check_order(name, _overridden(DEFAULT_THRESHOLDS[name], spec))
        return value

    @field_validator("domains")
    @classmethod
    def _known_domain_thresholds(
        cls, value: dict[str, DomainSettings], info: ValidationInfo
    ) -> dict[str, DomainSettings]:
        general: dict[str, ThresholdSpec] = info.data.get("thresholds", {})
        for domain, spec in value.items():
            unknown = sorted(set(spec.thresholds) - set(DEFAULT_THRESHOLDS))
            if unknown:
                raise ValueError(f"{domain}: unknown threshold name(s): {', '.join(unknown)}")
            for name, override in spec.thresholds.items():
                base = _overridden(DEFAULT_THRESHOLDS[name], general.get(name))
                _check_order(f"{domain}: {name}", _overridden(base, override))
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = _config_file.get()
        env = PlainListEnvSource(settings_cls)
        if path is None:
            return init_settings, env
        return init_settings, env, TomlConfigSettingsSource(settings_cls, path)

    @property
    def error_window_span(self) -> timedelta:
        """``error_window`` as a duration (``1h`` -> one hour)."""
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[self.error_window[-1]]
        return timedelta(**{unit: int(self.error_window[:-1])})

    def secrets(self) -> tuple[str, ...]:
        """Every secret this configuration holds, for masking output (never print them): the
        DSN first, then each URL that carries credentials."""
        dsn = tuple(
            secret.get_secret_value()
            for secret in (self.database_dsn,)
            if secret is not None and secret.get_secret_value()
        )
        urls = [
            self.prometheus_url,
            *self.metrics_urls,
            self.docker_host,
            self.proxies.judge_url,
            *self.proxies.target_urls,
        ]
        # redact() skips a secret holding "=": a Fernet key's padding is cut off instead.
        keys = tuple(k.get_secret_value().rstrip("=") for k in self.proxies.encryption_keys)
        pepper = self.security.key_pepper
        keys += (pepper.get_secret_value(),) if pepper is not None else ()
        return dsn + tuple(_url_secrets(urls)) + self.notify.secrets() + keys

    def threshold(self, name: str, domain: str | None = None) -> Threshold:
        """The threshold ``name`` after config overrides (and ``domain`` overrides, if any)."""
        base = DEFAULT_THRESHOLDS[name]
        for spec in (self.thresholds.get(name), self._domain_spec(name, domain)):
            base = _overridden(base, spec)
        return base

    def _domain_spec(self, name: str, domain: str | None) -> ThresholdSpec | None:
        if domain is None or domain not in self.domains:
            return None
        return self.domains[domain].thresholds.get(name)


def _beyond(threshold: Threshold, warn: float, crit: float) -> bool:
    """Whether ``warn`` lies past ``crit`` (a warning that could never come first)."""
    return warn > crit if threshold.bad == "above" else warn < crit


def _overridden(base: Threshold, spec: ThresholdSpec | None) -> Threshold:
    """``base`` with ``spec``'s limits; a ``warn`` not given follows a ``crit`` moved past it."""
    if spec is None:
        return base
    warn = spec.warn if spec.warn is not None else base.warn
    crit = spec.crit if spec.crit is not None else base.crit
    if spec.warn is None and warn is not None and crit is not None and _beyond(base, warn, crit):
        warn = crit
    return Threshold(warn=warn, crit=crit, bad=base.bad, unit=base.unit)


def _check_order(name: str, threshold: Threshold) -> None:
    warn, crit = threshold.warn, threshold.crit
    if warn is not None and crit is not None and _beyond(threshold, warn, crit):
        order = "at most" if threshold.bad == "above" else "at least"
        bad = "high" if threshold.bad == "above" else "low"
        raise ValueError(
            f"{name}: warn {warn:g} lies beyond crit {crit:g} ({bad} values are bad:"
            f" warn must be {order} crit)"
        )


def toml_value(value: object) -> str:
    """``value`` as a TOML value, for writing a config file (a secret is written as such)."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    # JSON strings, numbers and arrays of them are valid TOML values.
    return json.dumps(value)


def config_path(environ: dict[str, str] | None = None) -> Path | None:
    """The config file in force: ``$OPSLIB_CONFIG``, else ``./opslib.toml`` if it exists."""
    env = os.environ if environ is None else environ
    explicit = env.get("OPSLIB_CONFIG")
    if explicit:
        return Path(explicit)
    local = Path.cwd() / "opslib.toml"
    return local if local.is_file() else None


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Read settings from defaults, the config file, the environment and ``overrides``.

    Raises :class:`ConfigError` with one line per bad field, naming where it came from.
    """
    path = config_file if config_file is not None else config_path()
    file_data: dict[str, Any] = {}
    if path is not None:
        file_data = _read_toml(path)
    token = _config_file.set(path)
    unknown = unknown_variables(Settings, os.environ, ENV_PREFIX, "__")
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        problems = tuple(_describe(err, path, file_data, overrides) for err in exc.errors())
        raise ConfigError("invalid configuration", (*unknown, *problems)) from None
    except SettingsError as exc:
        # An OPSLIB_* value that is not the JSON its field needs (a list, a table).
        raise ConfigError("invalid configuration", (*unknown, _settings_error(exc))) from None
    finally:
        _config_file.reset(token)
    if unknown:
        raise ConfigError("invalid configuration", tuple(unknown))
    remember_secrets(*settings.secrets())
    return settings


def _settings_error(exc: SettingsError) -> str:
    found = re.search(r'field "([^"]+)"', str(exc))
    field = found[1] if found else "(settings)"
    variable = ENV_PREFIX + field.upper()
    given = variable if variable in {k.upper() for k in os.environ} else "the environment"
    return (
        f"{field}: not valid JSON for a list or table (from {given}; e.g."
        f" {variable}='[\"value\"]' or {variable}='{{\"key\": 1}}')"
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(
            f"config file {path} does not exist", (f"{path}: no such file",)
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} cannot be read", (f"{path}: {exc}",)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not TOML", (f"{path}: {exc}",)) from None


def _describe(
    err: Any, path: Path | None, file_data: dict[str, Any], overrides: dict[str, Any]
) -> str:
    loc = [str(part) for part in err["loc"]]
    field = ".".join(loc) or "(settings)"
    top = loc[0] if loc else ""
    env_names = {k.upper(): k for k in os.environ}
    candidates = [ENV_PREFIX + "__".join(loc[:n]).upper() for n in range(len(loc), 0, -1)]
    env_name = next((name for name in candidates if name in env_names), None)
    if top in overrides:
        source = "command line"
    elif env_name is not None:
        source = f"environment variable {env_name}"
    elif top in file_data and path is not None:
        source = f"file {path}"
    else:
        source = "defaults"
    message = str(err["msg"])
    if err.get("type") == "extra_forbidden":
        message = "unknown setting"
    line = redact(f"{field}: {message} (from {source})")
    return line if line.isprintable() else line.encode("unicode_escape").decode("ascii")
