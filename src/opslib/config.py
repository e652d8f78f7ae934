"""Settings: defaults < ``opslib.toml`` < ``OPSLIB_*`` environment < explicit overrides.

The file is ``$OPSLIB_CONFIG`` when set, else ``opslib.toml`` in the working directory.
Nothing is read at import time; call :func:`load_settings`.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal
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

from opslib.errors import ConfigError
from opslib.results import Threshold
from opslib.thresholds import DEFAULT_THRESHOLDS

__all__ = [
    "NO_DATABASE",
    "BackupSettings",
    "DomainSettings",
    "MetricNames",
    "MonitoredUrlsTable",
    "PlatformTables",
    "PriceHistoryTable",
    "ProxySettings",
    "ScrapeLogsTable",
    "Settings",
    "ThresholdSpec",
    "Timeouts",
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
    """An override of a default threshold; unset limits keep the default."""

    warn: float | None = None
    crit: float | None = None


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
            raise ValueError(f"not a valid URL: {url!r} ({exc})") from exc
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
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
    sample_seconds: float = Field(
        5.0,
        gt=0,
        le=30,
        description="seconds between two /metrics samples when Prometheus lacks a series",
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


class PriceHistoryTable(_Table):
    """``price_history``: one row per price check (runbook Daily 3)."""

    name: str = "price_history"
    url_id: str = "url_id"
    price: str = "price"
    extraction_confidence: str = "extraction_confidence"
    checked_at: str = "checked_at"


class ScrapeLogsTable(_Table):
    """``scrape_logs``: one row per request. The runbook names only the table; its proxy columns
    are optional (without them proxy performance comes from opslib's own pool)."""

    name: str = "scrape_logs"
    started_at: str = "started_at"
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
    proxies: ProxySettings = Field(default_factory=ProxySettings)
    backups: BackupSettings = Field(default_factory=BackupSettings)
    actor: str | None = None
    log_level: Literal["debug", "info", "warning", "error"] = "warning"

    _http_url = field_validator("prometheus_url", "metrics_urls")(_http_urls)

    @field_validator("thresholds")
    @classmethod
    def _known_thresholds(cls, value: dict[str, ThresholdSpec]) -> dict[str, ThresholdSpec]:
        unknown = sorted(set(value) - set(DEFAULT_THRESHOLDS))
        if unknown:
            raise ValueError(f"unknown threshold name(s): {', '.join(unknown)}")
        return value

    @field_validator("domains")
    @classmethod
    def _known_domain_thresholds(
        cls, value: dict[str, DomainSettings]
    ) -> dict[str, DomainSettings]:
        for domain, spec in value.items():
            unknown = sorted(set(spec.thresholds) - set(DEFAULT_THRESHOLDS))
            if unknown:
                raise ValueError(f"{domain}: unknown threshold name(s): {', '.join(unknown)}")
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
        if path is None:
            return init_settings, env_settings
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls, path)

    def secrets(self) -> tuple[str, ...]:
        """Every secret this configuration holds, for masking output (never print them)."""
        return tuple(
            secret.get_secret_value()
            for secret in (self.database_dsn,)
            if secret is not None and secret.get_secret_value()
        )

    def threshold(self, name: str, domain: str | None = None) -> Threshold:
        """The threshold ``name`` after config overrides (and ``domain`` overrides, if any)."""
        base = DEFAULT_THRESHOLDS[name]
        for spec in (self.thresholds.get(name), self._domain_spec(name, domain)):
            if spec is not None:
                base = Threshold(
                    warn=spec.warn if spec.warn is not None else base.warn,
                    crit=spec.crit if spec.crit is not None else base.crit,
                    bad=base.bad,
                    unit=base.unit,
                )
        return base

    def _domain_spec(self, name: str, domain: str | None) -> ThresholdSpec | None:
        if domain is None or domain not in self.domains:
            return None
        return self.domains[domain].thresholds.get(name)


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
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = tuple(_describe(err, path, file_data, overrides) for err in exc.errors())
        raise ConfigError("invalid configuration", problems) from None
    except SettingsError as exc:
        # An OPSLIB_* value that is not the JSON its field needs (a list, a table).
        raise ConfigError("invalid configuration", (_settings_error(exc),)) from None
    finally:
        _config_file.reset(token)


def _settings_error(exc: SettingsError) -> str:
    found = re.search(r'field "([^"]+)"', str(exc))
    field = found[1] if found else "(settings)"
    variable = ENV_PREFIX + field.upper()
    given = variable if variable in {k.upper() for k in os.environ} else "the environment"
    return (
        f"{field}: not valid JSON for a list or table (from {given}; e.g."
        f' {variable}=\'["value"]\' or {variable}=\'{{"key": 1}}\')'
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
    return f"{field}: {message} (from {source})"
