"""The baseline: figures captured before a deploy, written as versioned JSON for the post gate.

Every figure comes from the domain functions the daily checks use (``health.error_rate``,
``quality.recent_stats`` / ``domain_stats``, the platform's containers,
``performance.processing_rate``), over the same windows, so before and after compare alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from opslib._files import write_atomic
from opslib.adapters import ContainerInfo, Database
from opslib.config import Settings
from opslib.errors import DataError, InputError, OpsError
from opslib.health import MetricQuery, error_rate
from opslib.performance import MetricsScrape, RateQuery, processing_rate
from opslib.quality import PlatformSchema, domain_stats, recent_stats

__all__ = [
    "SCHEMA_VERSION",
    "Baseline",
    "BaselineFile",
    "ContainerList",
    "ErrorFigures",
    "QualityFigures",
    "capture",
    "error_figures",
    "load_baseline",
    "quality_figures",
    "read_baseline",
    "running_containers",
    "save_baseline",
]

SCHEMA_VERSION = 1
"""The baseline file's ``schema_version``; a file of another version is refused, not guessed."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ErrorFigures(_Model):
    """Scraper errors over ``window`` (``error_window``): errors/s and share of requests, overall
    and per domain (``domain_rate`` for domains without a requests series)."""

    window: str
    rate: float | None = None
    ratio: float | None = None
    domain_ratio: dict[str, float] = Field(default_factory=dict)
    domain_rate: dict[str, float] = Field(default_factory=dict)


class QualityFigures(_Model):
    """Extractions of the last ``minutes`` (``recent_minutes``): average confidence and price
    coverage overall, confidence and row count per domain."""

    minutes: int
    rows: int
    confidence: float | None = None
    coverage: float | None = None
    domain_confidence: dict[str, float] = Field(default_factory=dict)
    domain_rows: dict[str, int] = Field(default_factory=dict)


class Baseline(_Model):
    """What the platform looked like at ``captured_at``; a part that could not be measured is
    None, with the reason in ``unmeasured``."""

    schema_version: int = SCHEMA_VERSION
    captured_at: datetime
    platform: str
    errors: ErrorFigures | None = None
    quality: QualityFigures | None = None
    running: dict[str, int] | None = None
    processing_rate: float | None = None
    unmeasured: dict[str, str] = Field(default_factory=dict)

    @property
    def parts(self) -> tuple[str, ...]:
        """The parts that were measured: ``errors``, ``quality``, ``running``,
        ``processing_rate``."""
        present = {
            "errors": self.errors is not None,
            "quality": self.quality is not None,
            "running": self.running is not None,
            "processing_rate": self.processing_rate is not None,
        }
        return tuple(name for name, there in present.items() if there)


class ContainerList(Protocol):
    """What the baseline needs of :class:`opslib.adapters.Platform`."""

    def containers(self, service: str | None = None) -> list[ContainerInfo]: ...


def error_figures(prometheus: MetricQuery, settings: Settings) -> ErrorFigures:
    """The error figures ``health.error_rate`` measures; DependencyError or DataError when it
    cannot measure (no errors series)."""
    result = error_rate(prometheus, settings)
    if result.error:
        raise DataError(result.error)
    rate = ratio = None
    domain_ratio: dict[str, float] = {}
    domain_rate: dict[str, float] = {}
    for m in result.measurements:
        if m.value is None:
            continue
        if m.subject and m.name == "error_ratio":
            domain_ratio[m.subject] = m.value
        elif m.subject and m.name == "error_rate":
            domain_rate[m.subject] = m.value
        elif m.name == "error_ratio":
            ratio = m.value
        elif m.name == "error_rate":
            rate = m.value
    return ErrorFigures(
        window=settings.error_window,
        rate=rate,
        ratio=ratio,
        domain_ratio=domain_ratio,
        domain_rate=domain_rate,
    )


def quality_figures(db: Database, settings: Settings) -> QualityFigures:
    """Confidence and coverage of the last ``recent_minutes`` (the daily checks' recent
    window), overall and per domain; DataError when the window holds no rows."""
    minutes = settings.recent_minutes
    schema = PlatformSchema.read(db, settings.tables)
    overall = recent_stats(db, minutes, schema)
    if not overall.total:
        raise DataError(f"{schema.name('price_history')} has no rows in the last {minutes} min")
    by_domain = domain_stats(db, minutes, schema)
    return QualityFigures(
        minutes=minutes,
        rows=overall.total,
        confidence=_rounded(overall.avg_confidence),
        coverage=_rounded(overall.coverage),
        domain_confidence={
            s.domain: round(s.confidence, 4) for s in by_domain if s.confidence is not None
        },
        domain_rows={s.domain: s.total for s in by_domain},
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def running_containers(platform: ContainerList) -> dict[str, int]:
    """Running containers per compose service (services with none running count 0)."""
    counts: dict[str, int] = {}
    for c in platform.containers():
        counts[c.service] = counts.get(c.service, 0) + int(c.running)
    return dict(sorted(counts.items()))


class _RateSource(MetricQuery, RateQuery, Protocol):
    pass


def capture(
    settings: Settings,
    *,
    platform_name: str,
    db: Database | None = None,
    prometheus: _RateSource | None = None,
    platform: ContainerList | None = None,
    scrape: MetricsScrape | None = None,
    now: datetime | None = None,
) -> Baseline:
    """The figures of every source given (None: that part is not measured, and says so).

    A source that fails is one line in ``unmeasured``; nothing here raises for it."""
    unmeasured: dict[str, str] = {}
    errors = quality = running = rate = None
    if prometheus is None:
        unmeasured["errors"] = "Prometheus was not reachable"
    else:
        try:
            errors = error_figures(prometheus, settings)
        except OpsError as exc:
            unmeasured["errors"] = str(exc)
    if db is None:
        unmeasured["quality"] = "the database was not reachable"
    else:
        try:
            quality = quality_figures(db, settings)
        except OpsError as exc:
            unmeasured["quality"] = str(exc)
    if platform is None:
        unmeasured["running"] = "the container engine was not reachable"
    else:
        try:
            running = running_containers(platform)
        except OpsError as exc:
            unmeasured["running"] = str(exc)
    if prometheus is None or scrape is None:
        unmeasured["processing_rate"] = "neither Prometheus nor /metrics was read"
    else:
        result = processing_rate(scrape, prometheus, settings)
        found = [m.value for m in result.measurements if m.name == "processing_rate"]
        rate = found[0] if found and found[0] is not None else None
        if rate is None:
            unmeasured["processing_rate"] = result.error or "not measured"
    return Baseline(
        captured_at=now or datetime.now(UTC),
        platform=platform_name,
        errors=errors,
        quality=quality,
        running=running,
        processing_rate=rate,
        unmeasured=unmeasured,
    )


def save_baseline(path: Path, baseline: Baseline) -> None:
    """Write ``baseline`` to ``path`` atomically (temporary file, fsync, rename)."""
    write_atomic(path, baseline.model_dump_json(indent=2) + "\n")


def load_baseline(path: Path) -> Baseline:
    """The baseline in ``path``; FileNotFoundError when there is none, InputError (one line)
    when it is not a baseline this opslib reads."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"baseline {path}: cannot be read: {exc}") from None
    version = raw.get("schema_version") if isinstance(raw, dict) else None
    if version != SCHEMA_VERSION:
        raise InputError(
            f"baseline {path}: schema_version {version!r} is not {SCHEMA_VERSION}, the one this"
            " opslib reads: run the pre-deploy checks again with this opslib"
        )
    try:
        return Baseline.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputError(f"baseline {path}: {where}: {first['msg']}") from None


@dataclass(frozen=True)
class BaselineFile:
    """The baseline a post-deploy run compares with: ``baseline``, or why there is none
    (``missing``: judged on absolute thresholds) or why it cannot be used (``error``)."""

    path: Path
    baseline: Baseline | None = None
    missing: str = ""
    error: str = ""

    @property
    def usable(self) -> Baseline | None:
        """The baseline when there is one to compare with."""
        return self.baseline if not self.missing and not self.error else None


def read_baseline(path: Path, platform_name: str) -> BaselineFile:
    """``path`` read for the post gate: missing or of another platform is ``missing`` (the gate
    judges absolute thresholds and says so); unreadable is ``error`` (the comparing checks are
    UNKNOWN)."""
    try:
        baseline = load_baseline(path)
    except FileNotFoundError:
        return BaselineFile(path, missing=f"no baseline at {path} (run the pre-deploy checks)")
    except InputError as exc:
        return BaselineFile(path, error=str(exc))
    if baseline.platform != platform_name:
        return BaselineFile(
            path,
            baseline,
            missing=f"the baseline at {path} is of another platform ({baseline.platform})",
        )
    return BaselineFile(path, baseline)
