"""Scrape Prometheus text-format ``/metrics`` endpoints (the scrapers' own counters and gauges)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from opslib.adapters._http import MAX_BODY_BYTES, fetch, one_line
from opslib.errors import ConfigError, DataError, DependencyError, OpsError
from opslib.redact import redact

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

__all__ = ["MetricSample", "MetricsEndpoint", "MetricsSnapshot", "scrape_all"]

_ACCEPT = "text/plain;version=0.0.4;q=1.0, */*;q=0.1"
_MAX_WORKERS = 16


@dataclass(frozen=True)
class MetricSample:
    """One sample line: full sample name (``requests_total``, ``latency_bucket``), labels, value."""

    name: str
    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True)
class MetricsSnapshot:
    """Every sample one scrape returned; ``url`` has its credentials redacted."""

    url: str
    samples: tuple[MetricSample, ...]

    def value(self, name: str, **labels: str) -> float | None:
        """Sum of the samples named ``name`` whose labels include ``labels``; None if none match."""
        found = [
            s.value
            for s in self.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        ]
        return math.fsum(found) if found else None

    def names(self) -> frozenset[str]:
        """The distinct sample names."""
        return frozenset(s.name for s in self.samples)


class MetricsEndpoint:
    """A ``/metrics`` URL; each :meth:`scrape` is one bounded GET of at most ``max_bytes``."""

    def __init__(self, url: str, *, timeout: float = 5.0, max_bytes: int = MAX_BODY_BYTES) -> None:
        self._url = url
        self._timeout = timeout
        self._max_bytes = max_bytes

    @property
    def name(self) -> str:
        """How errors name this endpoint: ``metrics <url>`` with credentials redacted."""
        return f"metrics {redact(self._url)}"

    def __repr__(self) -> str:
        return f"MetricsEndpoint({redact(self._url)!r})"

    def scrape(self) -> MetricsSnapshot:
        """Fetch and parse the endpoint; UnreachableError, DependencyError or DataError if not."""
        with httpx.Client(timeout=self._timeout, headers={"Accept": _ACCEPT}) as client:
            reply = fetch(
                client,
                self._url,
                dependency=self.name,
                timeout=self._timeout,
                max_bytes=self._max_bytes,
            )
        if reply.status >= 400:
            snippet = one_line(reply.body[:120].decode("utf-8", "replace"), self._url)
            raise DependencyError(self.name, f"HTTP {reply.status}: {snippet}")
        parse = _parser()
        try:
            text = reply.body.decode("utf-8")
            samples = tuple(
                MetricSample(sample.name, dict(sample.labels), float(sample.value))
                for family in parse(text)
                for sample in family.samples
            )
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            reason = one_line(str(exc), self._url, limit=120)
            raise DataError(f"{self.name}: not Prometheus text format: {reason}") from exc
        return MetricsSnapshot(redact(self._url), samples)


def _parser() -> Callable[[str], Iterable[Metric]]:
    """prometheus_client's parser, the reference one; an extra of the lean install."""
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ModuleNotFoundError as exc:
        raise ConfigError(
            "reading /metrics needs the prometheus-client package: pip install 'opslib[cli]'"
        ) from exc
    return text_string_to_metric_families


def scrape_all(urls: Sequence[str], *, timeout: float = 5.0) -> list[MetricsSnapshot | OpsError]:
    """Scrape every URL concurrently; each slot holds the snapshot or the OpsError, in order."""
    if not urls:
        return []

    def one(url: str) -> MetricsSnapshot | OpsError:
        try:
            return MetricsEndpoint(url, timeout=timeout).scrape()
        except OpsError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=min(len(urls), _MAX_WORKERS)) as pool:
        return list(pool.map(one, urls))
