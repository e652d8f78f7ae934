"""Check results as Prometheus metrics: a textfile for node_exporter, pushes to a Pushgateway.

Every series carries ``suite`` (the SOP id's first part: ``daily``, ``weekly`` ...):

- ``opslib_check_status{suite,sop,check}``: the Nagios code (0 OK, 1 WARNING, 2 CRITICAL,
  3 UNKNOWN) of every check that was judged; ``check`` is the pytest node id;
- ``opslib_check_measurement{suite,sop,check,measurement,subject,unit}``: each measured figure;
- ``opslib_check_threshold{suite,sop,check,measurement,subject,level,bad}``: its ``warn`` and
  ``crit`` limits, ``bad`` saying whether values ``above`` or ``below`` them are the problem;
- ``opslib_suite_last_run_timestamp_seconds{suite}``: when a run of the suite last ended.

A run that judged no check (a configuration error, everything skipped) exports nothing, so
its suites' results age towards the stale-results alert instead of looking fresh. Neither a
failed write nor a failed push changes the exit status: that is the checks' verdict, and
results that stop arriving are what the stale-results alert is for.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.error import HTTPError, URLError
from urllib.parse import unquote, urlsplit

import pytest

from opslib.pytest_plugin._state import RunState
from opslib.redact import redact

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = [
    "EXPOSITION_KEY",
    "JOB",
    "PUSH_TIMEOUT",
    "Exposition",
    "Gateway",
    "build_registry",
    "export",
    "suite_of",
]

JOB = "opslib"
PUSH_TIMEOUT = 10.0
_NO_SOP_SUITE = "other"
_CHECK = ("suite", "sop", "check")


@dataclass(frozen=True)
class Gateway:
    """A Pushgateway: its URL without credentials, and the basic-auth credentials it had."""

    url: str
    shown: str
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, value: str) -> Gateway:
        """``http(s)://[user:password@]host[:port][/path]``; ValueError (secret masked) if not."""
        shown = redact(value)
        try:
            parts = urlsplit(value)
            _ = parts.port  # raises ValueError on a bad port
        except ValueError as exc:
            raise ValueError(f"{shown}: {redact(str(exc), value)}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{shown}: not an http(s)://host[:port] URL")
        if parts.query or parts.fragment:
            raise ValueError(f"{shown}: a Pushgateway URL takes no query or fragment")
        hostport = parts.netloc.rpartition("@")[2]
        url = f"{parts.scheme}://{hostport}{parts.path}".rstrip("/")
        username = unquote(parts.username) if parts.username is not None else None
        password = unquote(parts.password) if parts.password is not None else None
        if username is not None and password is None:
            password = ""
        return cls(url=url, shown=shown, username=username, password=password)


@dataclass
class Exposition:
    """Where the results go (``--ops-prometheus``, ``--ops-pushgateway``) and how it went."""

    textfile: Path | None = None
    gateway: Gateway | None = None
    timeout: float = PUSH_TIMEOUT
    written: Path | None = None
    pushed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skipped: str = ""

    @property
    def wanted(self) -> bool:
        return self.textfile is not None or self.gateway is not None

    def notes(self) -> list[tuple[str, bool]]:
        """Lines for the terminal summary, each with whether it reports a problem."""
        lines = [(f"opslib: {problem}", True) for problem in self.problems]
        if self.skipped:
            lines.append((f"opslib: Prometheus results not exported: {self.skipped}", False))
        if self.pushed and self.gateway is not None:
            groups = ", ".join(self.pushed)
            lines.append((f"opslib: pushed {groups} to {self.gateway.shown} (job {JOB})", False))
        return lines


EXPOSITION_KEY = pytest.StashKey[Exposition]()


def suite_of(sop: str) -> str:
    """``daily`` for ``daily.health``; checks without an SOP id belong to ``other``."""
    return sop.split(".", 1)[0] or _NO_SOP_SUITE


def _judged_suites(state: RunState) -> list[str]:
    """Suites with at least one judged check, in the order they ran."""
    found: dict[str, None] = {}
    for record in state.records.values():
        if record.severity is not None:
            found.setdefault(suite_of(record.sop))
    return list(found)


def build_registry(state: RunState, suites: Iterable[str], finished: float) -> CollectorRegistry:
    """The metrics of the checks in ``suites``, label values cleaned of secrets."""
    from prometheus_client import CollectorRegistry, Gauge

    wanted = set(suites)
    registry = CollectorRegistry()
    status = Gauge(
        "opslib_check_status",
        "Severity of the check as a Nagios code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
        _CHECK,
        registry=registry,
    )
    measurement = Gauge(
        "opslib_check_measurement",
        "A figure the check measured.",
        (*_CHECK, "measurement", "subject", "unit"),
        registry=registry,
    )
    threshold = Gauge(
        "opslib_check_threshold",
        "The warn or crit limit a measurement is held to; bad: which side of it is a problem.",
        (*_CHECK, "measurement", "subject", "level", "bad"),
        registry=registry,
    )
    last_run = Gauge(
        "opslib_suite_last_run_timestamp_seconds",
        "Unix time at which a run of the suite last ended with checks judged.",
        ("suite",),
        registry=registry,
    )
    clean = state.clean
    for record in state.records.values():
        suite = suite_of(record.sop)
        if record.severity is None or suite not in wanted:
            continue
        check = (suite, clean(record.sop), clean(record.nodeid))
        status.labels(*check).set(int(record.severity))
        for m in record.result.measurements if record.result is not None else ():
            named = (*check, clean(m.name), clean(m.subject))
            if m.value is not None and math.isfinite(m.value):
                measurement.labels(*named, m.unit).set(m.value)
            if m.threshold is None:
                continue
            for level, limit in (("warn", m.threshold.warn), ("crit", m.threshold.crit)):
                if limit is not None and math.isfinite(limit):
                    threshold.labels(*named, level, m.threshold.bad).set(limit)
    for suite in wanted:
        last_run.labels(suite).set(finished)
    return registry


def export(state: RunState, exposition: Exposition, finished: float) -> None:
    """Write the textfile and push each suite's group; record what happened on ``exposition``."""
    suites = _judged_suites(state)
    if not suites:
        exposition.skipped = "no check was judged"
        return
    if exposition.textfile is not None:
        _write(state, exposition, exposition.textfile, suites, finished)
    if exposition.gateway is not None:
        _push(state, exposition, exposition.gateway, suites, finished)


def _write(
    state: RunState, exposition: Exposition, path: Path, suites: list[str], finished: float
) -> None:
    from prometheus_client import write_to_textfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside the target as <name>.<pid>.<thread> and renamed: the textfile
        # collector, which reads only *.prom, never sees half a file.
        write_to_textfile(str(path), build_registry(state, suites, finished))
    except OSError as exc:
        exposition.problems.append(state.clean(f"could not write {path}: {exc}"))
    else:
        exposition.written = path


def _push(
    state: RunState, exposition: Exposition, gateway: Gateway, suites: list[str], finished: float
) -> None:
    from prometheus_client import push_to_gateway

    for suite in suites:
        # PUT replaces the suite's whole group: checks gone from the suite leave with it.
        try:
            push_to_gateway(
                gateway.url,
                job=JOB,
                registry=build_registry(state, [suite], finished),
                grouping_key={"suite": suite},
                timeout=exposition.timeout,
                handler=_handler(gateway),
            )
        except (OSError, ValueError) as exc:
            reason = _reason(exc, exposition.timeout)
            secrets = [gateway.password] if gateway.password else []
            exposition.problems.append(
                state.clean(redact(f"could not push to {gateway.shown}: {reason}", *secrets))
            )
            return  # one line: the next suites would fail alike
        exposition.pushed.append(suite)


_Handler = Callable[[str, str, float | None, list[tuple[str, str]], bytes], Callable[[], None]]


def _handler(gateway: Gateway) -> _Handler:
    from prometheus_client.exposition import basic_auth_handler

    def handler(
        url: str,
        method: str,
        timeout: float | None,
        headers: list[tuple[str, str]],
        data: bytes,
    ) -> Callable[[], None]:
        handle: Callable[[], None] = basic_auth_handler(
            url, method, timeout, headers, data, gateway.username, gateway.password
        )
        return handle

    return handler


def _reason(exc: BaseException, timeout: float) -> str:
    """One line about a failed push: the HTTP status and the gateway's first line, or why
    no answer came."""
    if isinstance(exc, HTTPError):
        try:
            first = exc.read(300).decode("utf-8", "replace").strip().splitlines()
        except OSError:
            first = []
        return f"HTTP {exc.code} {exc.reason}" + (f": {first[0]}" if first else "")
    if isinstance(exc, URLError):
        return _reason(exc.reason, timeout) if isinstance(exc.reason, OSError) else str(exc.reason)
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return " ".join(str(exc).split()) or type(exc).__name__
