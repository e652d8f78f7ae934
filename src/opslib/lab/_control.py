"""Fault control shared by the lab's processes: one JSON file, replaced atomically.

The shop, the proxies and the workers re-read it when it changes (a ``stat`` per look), so a
fault injected from any process shows within a fraction of a second.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from opslib.errors import LabError
from opslib.lab._catalog import domain_profile, proxy_latency_ms
from opslib.lab._settings import LabSettings

__all__ = [
    "Control",
    "ControlFile",
    "SITE_SLOW_SECONDS",
    "DomainControl",
    "FaultRecord",
    "ProxyControl",
    "WorkerControl",
    "initial_control",
]

_MAX_AGE = 1.0
SITE_SLOW_SECONDS = 4.0
"""How late a ``site-slow`` shop answers: over ``sites.latency``, within the scrapers' 5 s."""
Layout = Literal["standard", "changed", "redesign", "noprice"]
ProxyMode = Literal["ok", "dead", "blackhole", "slow", "banned", "leaking"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DomainControl(_Model):
    latency_ms: float
    error_rate: float = Field(ge=0, le=1)
    error_status: int | None = None  # None: a realistic mix of 5xx and 429
    layout: Layout = "standard"
    down: bool = False  # site-down: every page answers 503, as a load balancer with no backend
    slow: bool = False  # site-slow: every page answers SITE_SLOW_SECONDS late
    block_proxies: bool = False  # site-blocking: the lab's proxies get a captcha page (403)
    rate_limit: float | None = Field(None, gt=0)  # rate-limited: requests/s above which: 429
    price_glitch: float = Field(0.0, ge=0, le=1)  # price-jump: share of pages priced x100


class ProxyControl(_Model):
    latency_ms: float
    mode: ProxyMode = "ok"


class WorkerControl(_Model):
    speed: float = Field(1.0, gt=0, le=10)
    writes_paused: bool = False


class FaultRecord(_Model):
    name: str
    target: str | None = None
    since: datetime
    description: str


class Control(_Model):
    domains: dict[str, DomainControl]
    missing_share: float = Field(0.0, ge=0, le=1)
    missing_domain: str | None = None
    proxies: dict[str, ProxyControl]
    banned_sources: list[str] = Field(default_factory=list)
    workers: WorkerControl = Field(default_factory=WorkerControl)
    faults: dict[str, FaultRecord] = Field(default_factory=dict)


def healthy_domain(index: int) -> DomainControl:
    latency, error_rate = domain_profile(index)
    return DomainControl(latency_ms=latency, error_rate=error_rate)


def initial_control(settings: LabSettings) -> Control:
    """The healthy lab."""
    return Control(
        domains={d: healthy_domain(i) for i, d in enumerate(settings.domain_names)},
        proxies={
            label: ProxyControl(latency_ms=proxy_latency_ms(i))
            for i, (label, _country, _port) in enumerate(settings.proxies)
        },
    )


class ControlFile:
    """``control.json`` in the state directory: cached reads, atomic writes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._cached: Control | None = None
        self._parsed_at = 0.0

    def read(self) -> Control:
        """The current control; re-parsed when the file changed (and at least every second, in
        case a replacement reused the inode within one timestamp tick)."""
        try:
            st = self.path.stat()
        except FileNotFoundError as exc:
            raise LabError(f"lab control file {self.path} is missing") from exc
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._lock:
            fresh = time.monotonic() - self._parsed_at < _MAX_AGE
            if self._cached is not None and stamp == self._stamp and fresh:
                return self._cached
            try:
                control = Control.model_validate_json(self.path.read_bytes())
            except (OSError, ValidationError) as exc:
                if self._cached is not None:
                    return self._cached
                raise LabError(f"lab control file {self.path} is unreadable: {exc}") from exc
            self._cached, self._stamp, self._parsed_at = control, stamp, time.monotonic()
            return control

    def write(self, control: Control) -> None:
        """Replace the file in one step, so readers never see half of it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".control-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(control.model_dump_json(indent=1))
            os.chmod(tmp, 0o644)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
