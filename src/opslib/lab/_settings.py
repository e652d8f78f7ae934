"""What a lab looks like: size, ports, where it keeps its state."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

__all__ = ["COUNTRIES", "DOMAIN_NAMES", "INDEX_ENV", "LabSettings"]

DOMAIN_NAMES = (
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
    "juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
    "sierra", "tango", "uniform", "victor", "whiskey", "xray", "yankee", "zulu",
)  # fmt: skip
COUNTRIES = (
    "de",
    "fr",
    "us",
    "gb",
    "nl",
    "pl",
    "es",
    "it",
    "se",
    "jp",
    "ca",
    "at",
    "ch",
    "be",
    "dk",
    "fi",
)

# All below 32768, where Linux hands out ports to outgoing connections.
_DEFAULT_PORTS = {
    "postgres_port": 15432,
    "shop_port": 18080,
    "prometheus_port": 9090,
    "exporter_port": 19100,  # not node_exporter's 9100: the host may run its own
}
_DEFAULT_METRICS = 8000
_DEFAULT_PROXIES = 13128
# Offsets from port_base; the span covers up to 16 workers and 16 proxies.
_OFFSETS = {"postgres_port": 0, "shop_port": 1, "prometheus_port": 2, "exporter_port": 3}
_METRICS_OFFSET = 10
_PROXY_OFFSET = 30
PORT_SPAN = 48
"""How many consecutive ports from ``base_port`` one lab uses."""
INDEX_ENV = "LAB_WORKER_INDEX"
"""Where a lab worker started without ``--index`` finds it (a swarm replica: its task slot;
not ``OPSLIB_*``, which opslib's settings would take for one of theirs)."""


def _default_state_dir() -> Path:
    explicit = os.environ.get("OPSLIB_LAB_DIR")
    return Path(explicit) if explicit else Path(tempfile.gettempdir()) / "opslib-lab"


class LabSettings(BaseModel):
    """Size, ports and state directory of one lab; every port is derived from ``port_base``
    unless set (without ``port_base`` the platform-contract defaults apply: metrics on 8000,
    Prometheus on 9090)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    state_dir: Path = Field(default_factory=_default_state_dir)
    project: str = Field("pricewatch", pattern=r"^[a-z0-9][a-z0-9_-]{0,40}$")
    workers: int = Field(2, ge=1, le=16)
    domains: int = Field(8, ge=1, le=len(DOMAIN_NAMES))
    urls: int = Field(240, ge=1, le=20_000)
    history_days: int = Field(7, ge=0, le=366)
    history_volume: float = Field(
        5.0, gt=0, le=100, description="seeded rows per URL per hour (thin it for long histories)"
    )
    scrape_rate: float = Field(10.0, gt=0, le=200, description="scrapes per second, whole lab")
    port_base: int | None = Field(None, ge=1024, le=65535 - PORT_SPAN)
    postgres_port: int = Field(0, ge=1024, le=65535)
    shop_port: int = Field(0, ge=1024, le=65535)
    proxy_ports: tuple[int, ...] = ()
    metrics_ports: tuple[int, ...] = ()
    prometheus_port: int = Field(0, ge=1024, le=65535)
    exporter_port: int = Field(0, ge=1024, le=65535, description="node_exporter (check results)")
    use_docker: bool | None = None
    database_dsn: SecretStr | None = Field(
        None, description="use this (throwaway) database instead of a private cluster"
    )

    @model_validator(mode="before")
    @classmethod
    def _derive_ports(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        base = data.get("port_base")
        workers = int(data.get("workers", 2))
        for name, default in _DEFAULT_PORTS.items():
            if not data.get(name):
                data[name] = default if base is None else int(base) + _OFFSETS[name]
        if not data.get("metrics_ports"):
            first = _DEFAULT_METRICS if base is None else int(base) + _METRICS_OFFSET
            data["metrics_ports"] = tuple(first + i for i in range(workers))
        if not data.get("proxy_ports"):
            first = _DEFAULT_PROXIES if base is None else int(base) + _PROXY_OFFSET
            data["proxy_ports"] = tuple(first + i for i in range(6))
        return data

    @field_validator("proxy_ports", "metrics_ports")
    @classmethod
    def _valid_ports(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        for port in value:
            if not 1024 <= port <= 65535:
                raise ValueError(f"port {port} out of range 1024-65535")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if len(self.proxy_ports) < 6 or len(self.proxy_ports) > len(COUNTRIES):
            raise ValueError(f"proxy_ports: need 6 to {len(COUNTRIES)} proxies")
        if len(self.metrics_ports) != self.workers:
            raise ValueError("metrics_ports: need exactly one port per worker")
        if self.urls < self.domains:
            raise ValueError("urls: need at least one URL per domain")
        ports = self.all_ports()
        if len(set(ports)) != len(ports):
            raise ValueError("ports: every port must be different")
        return self

    @classmethod
    def for_tests(cls, state_dir: Path, port_base: int, **kw: Any) -> LabSettings:
        """A lab for a test session: all ports from ``port_base`` on (see :data:`PORT_SPAN`),
        its own compose project (``pricewatch-labtest`` unless given)."""
        kw.setdefault("project", "pricewatch-labtest")
        return cls(state_dir=state_dir, port_base=port_base, **kw)

    def all_ports(self) -> tuple[int, ...]:
        return (
            self.postgres_port,
            self.shop_port,
            self.prometheus_port,
            self.exporter_port,
            *self.metrics_ports,
            *self.proxy_ports,
        )

    @property
    def domain_names(self) -> list[str]:
        """Shop domains, e.g. ``alpha-shop.test``."""
        return [f"{name}-shop.test" for name in DOMAIN_NAMES[: self.domains]]

    @property
    def proxies(self) -> list[tuple[str, str, int]]:
        """(label, country, port) of every proxy; the label is what scrape_logs record."""
        return [
            (f"http://127.0.0.1:{port}", COUNTRIES[i], port)
            for i, port in enumerate(self.proxy_ports)
        ]

    @staticmethod
    def proxy_source_ip(index: int) -> str:
        """Loopback address proxy ``index`` connects from: each proxy has its own "exit IP"."""
        return f"127.0.1.{index + 1}"

    def worker_name(self, index: int) -> str:
        """Container (or process) name of worker ``index`` (1-based)."""
        return f"{self.project}-scraper-{index}"

    def metrics_port(self, index: int) -> int:
        """The /metrics port of worker ``index`` (1-based): its own of ``metrics_ports``, and
        for a replica beyond them (a scaled-up swarm service) the ports after the last one,
        up to 16 workers in all (ValueError past that, or on a port the lab uses otherwise)."""
        if not 1 <= index <= 16:
            raise ValueError(f"worker index {index} out of range 1-16")
        if index <= len(self.metrics_ports):
            return self.metrics_ports[index - 1]
        port = self.metrics_ports[-1] + index - len(self.metrics_ports)
        if port > 65535 or port in self.all_ports():
            raise ValueError(f"worker {index}: no free metrics port after {self.metrics_ports}")
        return port
