"""Prometheus HTTP API adapter: instant and range queries, targets, build info."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from opslib.adapters._http import fetch, one_line
from opslib.adapters._time import unix_seconds
from opslib.errors import DataError, DependencyError
from opslib.redact import redact

__all__ = ["Prometheus", "RangeSeries", "Sample", "Target"]

_NAME = "prometheus"


@dataclass(frozen=True)
class Sample:
    """One element of an instant vector (or the scalar result, with no labels); may be NaN."""

    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True)
class RangeSeries:
    """One series of a range query: ``(unix timestamp, value)`` points in time order."""

    labels: Mapping[str, str]
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Target:
    """A scrape target as Prometheus sees it; ``health`` is ``up``, ``down`` or ``unknown``."""

    job: str
    instance: str
    health: str
    last_error: str


class Prometheus:
    """A Prometheus server reached over its HTTP API, every call bounded by ``timeout``."""

    def __init__(self, base_url: str, *, timeout: float = 5.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._client = httpx.Client(timeout=timeout, headers={"Accept": "application/json"})

    def __repr__(self) -> str:
        return f"Prometheus({redact(self._base_url)!r})"

    def probe(self) -> str:
        """The server's version, or UnreachableError."""
        data = self._api("status/buildinfo")
        with _shape("buildinfo"):
            return str(data["version"])

    def query(self, promql: str, at: datetime | None = None) -> list[Sample]:
        """Evaluate ``promql`` at ``at`` (default now); a scalar result is one unlabelled sample."""
        params = {"query": promql}
        if at is not None:
            params["time"] = _ts(at)
        data = self._api("query", params)
        with _shape("query result"):
            kind, result = data["resultType"], data["result"]
            if kind == "vector":
                return [
                    Sample(_labels(item["metric"]), _number(item["value"][1])) for item in result
                ]
            if kind == "scalar":
                return [Sample({}, _number(result[1]))]
        raise DataError(f"{_NAME}: {promql!r} gives a {kind}, not a vector or scalar")

    def query_range(
        self, promql: str, start: datetime, end: datetime, step: float
    ) -> list[RangeSeries]:
        """Evaluate ``promql`` from ``start`` to ``end`` every ``step`` seconds."""
        params = {"query": promql, "start": _ts(start), "end": _ts(end), "step": f"{step:g}"}
        data = self._api("query_range", params)
        with _shape("range query result"):
            if data["resultType"] != "matrix":
                raise DataError(f"{_NAME}: range query gave a {data['resultType']}, not a matrix")
            return [
                RangeSeries(
                    _labels(item["metric"]),
                    tuple((float(ts), _number(value)) for ts, value in item["values"]),
                )
                for item in data["result"]
            ]

    def scalar(self, promql: str) -> float | None:
        """Sum of the finite values ``promql`` yields now; None when there are none."""
        finite = [s.value for s in self.query(promql) if math.isfinite(s.value)]
        return math.fsum(finite) if finite else None

    def targets(self) -> list[Target]:
        """The active scrape targets."""
        data = self._api("targets", {"state": "active"})
        with _shape("targets"):
            return [
                Target(
                    job=str(item["labels"].get("job", item.get("scrapePool", ""))),
                    instance=str(item["labels"].get("instance", "")),
                    health=str(item["health"]),
                    last_error=str(item.get("lastError", "")),
                )
                for item in data["activeTargets"]
            ]

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Prometheus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _api(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """The ``data`` member of a successful API answer; every failure as an OpsError."""
        url = f"{self._base_url}/api/v1/{path}"
        reply = fetch(self._client, url, dependency=_NAME, timeout=self._timeout, params=params)
        try:
            doc = json.loads(reply.body)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            snippet = one_line(reply.body[:120].decode("utf-8", "replace"), self._base_url)
            if reply.status >= 400:
                raise DependencyError(_NAME, f"HTTP {reply.status} from /api/v1/{path}: {snippet}")
            raise DataError(f"{_NAME}: /api/v1/{path} did not answer a JSON object: {snippet!r}")
        if doc.get("status") == "error" or reply.status >= 400:
            kind = doc.get("errorType") or f"HTTP {reply.status}"
            raise DependencyError(
                _NAME, f"{kind}: {one_line(str(doc.get('error', '')), self._base_url)}"
            )
        if doc.get("status") != "success" or "data" not in doc:
            raise DataError(f"{_NAME}: /api/v1/{path} answered without status success and data")
        return doc["data"]


@contextmanager
def _shape(what: str) -> Iterator[None]:
    try:
        yield
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise DataError(
            f"{_NAME}: unexpected shape of {what}: {type(exc).__name__}: {exc}"
        ) from exc


def _labels(metric: Mapping[str, Any]) -> dict[str, str]:
    return {str(key): str(value) for key, value in metric.items()}


def _number(text: Any) -> float:
    """Prometheus sends sample values as strings: ``"1.5"``, ``"NaN"``, ``"+Inf"``."""
    if not isinstance(text, str | int | float):
        raise TypeError(f"sample value {text!r} is not a number")
    return float(text)


def _ts(moment: datetime) -> str:
    return f"{unix_seconds(moment):.3f}"
