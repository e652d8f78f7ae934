"""The faults the lab can inject, each visible within seconds and undone by ``heal``."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from opslib.adapters import Database
from opslib.errors import LabError
from opslib.lab._api import start_attack, stop_attack
from opslib.lab._attacks import (
    LAB_ATTACKS,
    heal_debug_left_on,
    inject_debug_left_on,
    start_lab_attack,
    stop_lab_attack,
)
from opslib.lab._catalog import HEADROOM
from opslib.lab._control import (
    SITE_SLOW_SECONDS,
    Control,
    ControlFile,
    DomainControl,
    FaultRecord,
    ProxyMode,
    healthy_domain,
)
from opslib.lab._cpu_hog import heal_cpu_hog, inject_cpu_hog
from opslib.lab._db_faults import (
    heal_bloat,
    heal_stale,
    heal_unused_index,
    inject_bloat,
    inject_stale,
    inject_unused_index,
    stale_target,
)
from opslib.lab._disk_fault import fill_disk, free_disk
from opslib.lab._image_fault import heal_outdated, inject_outdated
from opslib.lab._key_fault import heal_key_aged, inject_key_aged, key_target
from opslib.lab._overload import heal_overload, inject_overload
from opslib.lab._patch_fault import heal_half_patched, inject_half_patched
from opslib.lab._review_fault import heal_slow_week, inject_slow_week
from opslib.lab._rules_fault import heal_rules_ignored, inject_rules_ignored
from opslib.lab._seed import refill_history
from opslib.lab._settings import LabSettings
from opslib.lab._slow_query import heal_slow_query, inject_slow_query
from opslib.lab._tls import EXPIRING_DAYS, FRESH_DAYS
from opslib.maintenance import MaintenanceScope

__all__ = [
    "FAULTS",
    "SHOP_RATE_LIMIT",
    "FaultHost",
    "heal_fault",
    "inject_fault",
    "normalise_target",
]

FAULTS: tuple[str, ...] = (
    "scraper-stopped",
    "error-burst",
    "low-confidence",
    "missing-prices",
    "queue-backlog",
    "stale-data",
    "proxy-dead",
    "proxy-blackhole",
    "proxy-slow",
    "proxy-banned",
    "proxy-leaking",
    "maintenance-stuck",
    "site-down",
    "site-slow",
    "site-blocking",
    "rate-limited",
    "price-jump",
    "site-change",
    "slow-query",
    "brute-force",
    "scan",
    "debug-left-on",
    "credential-stuffing",
    "key-leak",
    "disk-filling",
    "table-bloat",
    "stale-stats",
    "unused-index",
    "slow-week",
    "overload",
    "cpu-hog",
    "cert-expiring",
    "image-outdated",
    "half-patched",
    "rules-ignored",
    "key-aged",
)
"""Every fault ``opslib lab inject`` knows, by name."""
MISSING_SHARE = 0.7
BACKLOG_SPEED = 0.05
STALE_HOURS = 2
STUCK_REASON = "lab fault maintenance-stuck: a window left open after its expected end"
SHOP_RATE_LIMIT = 0.5
"""Requests per second a ``rate-limited`` shop admits (all clients together); above: 429."""
PRICE_GLITCH = 0.5  # price-jump: the share of a shop's pages that show the price x100
STUCK_SERVICE = "backoffice"  # not a service of the lab: its scrapers keep working
_WRITE_SETTLE = 0.7  # > the workers' control re-read interval plus one write


class FaultHost(Protocol):
    """What a fault needs from the lab."""

    @property
    def settings(self) -> LabSettings: ...

    @property
    def control(self) -> ControlFile: ...

    def database(self) -> Database: ...

    def stop_worker(self, index: int) -> None: ...

    def start_worker(self, index: int) -> None: ...


@dataclass(frozen=True)
class _Fault:
    target: Callable[[LabSettings, str | None], str | None]
    inject: Callable[[FaultHost, str | None], str]
    heal: Callable[[FaultHost, FaultRecord], str]


def _domain(settings: LabSettings, target: str | None) -> str:
    names = settings.domain_names
    if target is None:
        return names[0]
    for name in names:
        if target.lower() in (name, name.split("-")[0], name.removesuffix(".test")):
            return name
    raise LabError(f"unknown shop domain {target!r}; the lab has {', '.join(names)}")


def _optional_domain(settings: LabSettings, target: str | None) -> str | None:
    return None if target is None else _domain(settings, target)


def _worker(settings: LabSettings, target: str | None) -> str:
    if target is None:
        # The last worker: the platform-contract endpoint (the first) stays up.
        return settings.worker_name(settings.workers)
    for index in range(1, settings.workers + 1):
        if target in (str(index), settings.worker_name(index)):
            return settings.worker_name(index)
    raise LabError(
        f"unknown scraper {target!r}; use 1-{settings.workers} or {settings.worker_name(1)} ..."
    )


def _worker_index(settings: LabSettings, name: str) -> int:
    return int(name.rsplit("-", 1)[1])


def _update(host: FaultHost, change: Callable[[Control], None]) -> None:
    control = host.control.read().model_copy(deep=True)
    change(control)
    host.control.write(control)


# scraper-stopped


def _stop_scraper(host: FaultHost, target: str | None) -> str:
    assert target is not None
    host.stop_worker(_worker_index(host.settings, target))
    return f"scraper-stopped: {target} stopped"


def _start_scraper(host: FaultHost, record: FaultRecord) -> str:
    assert record.target is not None
    host.start_worker(_worker_index(host.settings, record.target))
    return f"scraper-stopped: {record.target} running again"


# error-burst, low-confidence, missing-prices: the shop


def _burst(host: FaultHost, target: str | None) -> str:
    def change(control: Control) -> None:
        domain = control.domains[str(target)]
        domain.error_rate, domain.error_status = 1.0, 503

    _update(host, change)
    return f"error-burst: {target} answers HTTP 503 to every request"


def _restore_domain(what: str) -> Callable[[FaultHost, FaultRecord], str]:
    def heal(host: FaultHost, record: FaultRecord) -> str:
        index = host.settings.domain_names.index(str(record.target))

        def change(control: Control) -> None:
            control.domains[str(record.target)] = healthy_domain(index)

        _update(host, change)
        return f"{what}: {record.target} healthy again"

    return heal


def _relayout(host: FaultHost, target: str | None) -> str:
    def change(control: Control) -> None:
        control.domains[str(target)].layout = "changed"

    _update(host, change)
    return (
        f"low-confidence: {target} changed its page layout; several prices in one "
        "box and no structured data: extraction confidence ~0.55"
    )


def _site_change(host: FaultHost, target: str | None) -> str:
    def change(control: Control) -> None:
        control.domains[str(target)].layout = "redesign"

    _update(host, change)
    return (
        f"site-change: {target} serves a new page template (another skeleton, no structured"
        " data, the price among list, per-unit, bundle and shipping prices)"
    )


def _drop_prices(host: FaultHost, target: str | None) -> str:
    def change(control: Control) -> None:
        control.missing_share, control.missing_domain = MISSING_SHARE, target

    _update(host, change)
    where = target or "every shop"
    return f"missing-prices: {MISSING_SHARE:.0%} of product pages at {where} show no price"


def _restore_prices(host: FaultHost, record: FaultRecord) -> str:
    def change(control: Control) -> None:
        control.missing_share, control.missing_domain = 0.0, None

    _update(host, change)
    return "missing-prices: every product page shows its price again"


# site-down, site-blocking, rate-limited: what a shop's front (load balancer, bot wall) does


def _front(fault: str, field: str, value: object, effect: str) -> _Fault:
    """A fault that sets one field of the domain's control, and resets only that field."""

    def inject(host: FaultHost, target: str | None) -> str:
        def change(control: Control) -> None:
            setattr(control.domains[str(target)], field, value)

        _update(host, change)
        return f"{fault}: {target} {effect}"

    def heal(host: FaultHost, record: FaultRecord) -> str:
        default = DomainControl.model_fields[field].default

        def change(control: Control) -> None:
            setattr(control.domains[str(record.target)], field, default)

        _update(host, change)
        return f"{fault}: {record.target} healthy again"

    return _Fault(_domain, inject, heal)


def _lifting_bans(fault: _Fault) -> _Fault:
    """``fault``, whose heal also lifts the bans the domain's captcha put on the pool: a
    healed lab is healthy now, not when the bans run out."""

    def heal(host: FaultHost, record: FaultRecord) -> str:
        said = fault.heal(host, record)
        with host.database() as db:
            db.execute("DELETE FROM opslib.proxy_bans WHERE domain = %s", (record.target,))
        return said

    return replace(fault, heal=heal)


# queue-backlog: the database and the workers


def _backlog(host: FaultHost, target: str | None) -> str:
    def change(control: Control) -> None:
        control.workers.speed = BACKLOG_SPEED

    _update(host, change)
    with host.database() as db:
        due = db.execute(
            "UPDATE monitored_urls SET next_check_at = now() - random() * interval '10 minutes'"
            " WHERE active"
        )
    rate = host.settings.scrape_rate * HEADROOM * BACKLOG_SPEED
    return f"queue-backlog: all {due} URLs due at once, workers slowed to {rate:.1f} scrapes/s"


def _drain(host: FaultHost, record: FaultRecord) -> str:
    with host.database() as db:
        db.execute(
            "UPDATE monitored_urls SET next_check_at = now() + random() * check_interval"
            " WHERE active"
        )

    def change(control: Control) -> None:
        control.workers.speed = 1.0

    _update(host, change)
    return "queue-backlog: queue drained, workers at full speed"


# stale-data: writes stop and the recent hours vanish


def _stale(host: FaultHost, target: str | None) -> str:
    def change(control: Control) -> None:
        control.workers.writes_paused = True

    _update(host, change)
    time.sleep(_WRITE_SETTLE)
    with host.database() as db, db.transaction():
        row = db.fetch_one(
            "SELECT date_trunc('hour', now()) - make_interval(hours => %s) AS cutoff",
            (STALE_HOURS,),
        )
        assert row is not None
        cutoff: datetime = row["cutoff"]
        db.execute("DELETE FROM price_history WHERE checked_at >= %s", (cutoff,))
        db.execute("DELETE FROM scrape_logs WHERE started_at >= %s", (cutoff,))
        db.execute(
            "UPDATE monitored_urls SET last_checked_at = %s - random() * interval '5 minutes'"
            " WHERE last_checked_at >= %s",
            (cutoff, cutoff),
        )
    return (
        f"stale-data: workers stopped writing; no rows since {cutoff:%Y-%m-%d %H:%M} "
        f"({STALE_HOURS}+ hours)"
    )


def _refresh(host: FaultHost, record: FaultRecord) -> str:
    with host.database() as db:
        row = db.fetch_one(
            "SELECT coalesce(max(checked_at), now() - interval '1 hour') AS last, now() AS now"
            " FROM price_history"
        )
        assert row is not None
        start: datetime = row["last"] + timedelta(seconds=1)
        refill_history(db, host.settings, start, row["now"])

    def change(control: Control) -> None:
        control.workers.writes_paused = False

    _update(host, change)
    return f"stale-data: history since {start:%H:%M} refilled, workers writing again"


# proxy-*: one proxy of the farm changes its mode


def _proxy(settings: LabSettings, target: str | None) -> str:
    proxies = settings.proxies
    if target is None:
        return proxies[0][0]
    wanted = target.lower().rstrip("/")
    for label, country, port in proxies:
        if wanted in (label, country, str(port), label.removeprefix("http://")):
            return label
    known = ", ".join(f"{label} ({country})" for label, country, _port in proxies)
    raise LabError(f"unknown proxy {target!r}; the lab has {known}")


_PROXY_EFFECT = {
    "dead": "refuses connections",
    "blackhole": "accepts connections and never answers",
    "slow": "answers 3 s late",
    "banned": "is refused by every shop (HTTP 403)",
    "leaking": "adds the client's IP in X-Forwarded-For and Via",
}


def _wait_listener(
    settings: LabSettings, label: str, *, accepting: bool, timeout: float = 3.0
) -> None:
    """Return once the proxy farm has closed (or reopened) ``label``'s listener (it re-reads the
    control file every 0.25 s), so whoever injected or healed ``dead`` sees the change at once."""
    port = next(p for lbl, _c, p in settings.proxies if lbl == label)
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            answered = True
        except OSError:
            answered = False
        if answered is accepting:
            return
        time.sleep(0.05)
    state = "refuses" if accepting else "accepts"
    raise LabError(f"proxy {label} still {state} connections {timeout:g} s after the change")


def _proxy_mode(mode: ProxyMode) -> _Fault:
    def inject(host: FaultHost, target: str | None) -> str:
        def change(control: Control) -> None:
            control.proxies[str(target)].mode = mode

        _update(host, change)
        if mode == "dead":
            _wait_listener(host.settings, str(target), accepting=False)
        return f"proxy-{mode}: {target} {_PROXY_EFFECT[mode]}"

    def heal(host: FaultHost, record: FaultRecord) -> str:
        def change(control: Control) -> None:
            control.proxies[str(record.target)].mode = "ok"

        _update(host, change)
        if mode == "dead":
            _wait_listener(host.settings, str(record.target), accepting=True)
        return f"proxy-{mode}: {record.target} healthy again"

    return _Fault(_proxy, inject, heal)


# maintenance-stuck: a maintenance window nobody closed


def _stuck_scope(settings: LabSettings, target: str | None) -> str:
    """``service:NAME`` (default: a service the lab does not run, so only the maintenance
    check turns red), ``domain:NAME`` for a lab domain, or ``everything``."""
    if target is None:
        return f"service:{STUCK_SERVICE}"
    if target == "everything":
        return target
    if target.startswith("service:"):
        [service] = MaintenanceScope.of([target.removeprefix("service:")]).services
        return f"service:{service}"
    return f"domain:{_domain(settings, target.removeprefix('domain:'))}"


def _open_stuck(host: FaultHost, target: str | None) -> str:
    kind, _, name = str(target).partition(":")
    with host.database() as db:
        open_row = db.fetch_one(
            "SELECT count(*) AS n FROM opslib.maintenance_windows WHERE ended_at IS NULL"
            " AND services = %s AND domains = %s",
            ([name] if kind == "service" else [], [name] if kind == "domain" else []),
        )
        if open_row and open_row["n"]:
            raise LabError(f"a maintenance window for {target} is already open")
        db.execute(
            "INSERT INTO opslib.maintenance_windows"
            " (reason, actor, started_at, expected_end, services, domains)"
            " VALUES (%s, 'opslib lab', now() - interval '2 hours', now() - interval '1 hour',"
            " %s, %s)",
            (
                STUCK_REASON,
                [name] if kind == "service" else [],
                [name] if kind == "domain" else [],
            ),
        )
    return f"maintenance-stuck: a window for {target} opened 2 h ago, expected to end 1 h ago"


def _close_stuck(host: FaultHost, record: FaultRecord) -> str:
    with host.database() as db:
        closed = db.execute(
            "UPDATE opslib.maintenance_windows SET ended_at = now(), ended_by = 'opslib lab heal'"
            " WHERE ended_at IS NULL AND reason = %s",
            (STUCK_REASON,),
        )
    return f"maintenance-stuck: {closed} window(s) closed"


_FAULTS: dict[str, _Fault] = {
    "scraper-stopped": _Fault(_worker, _stop_scraper, _start_scraper),
    "error-burst": _Fault(_domain, _burst, _restore_domain("error-burst")),
    "low-confidence": _Fault(_domain, _relayout, _restore_domain("low-confidence")),
    "missing-prices": _Fault(_optional_domain, _drop_prices, _restore_prices),
    "site-change": _Fault(_domain, _site_change, _restore_domain("site-change")),
    "queue-backlog": _Fault(lambda _s, _t: None, _backlog, _drain),
    "stale-data": _Fault(lambda _s, _t: None, _stale, _refresh),
    "proxy-dead": _proxy_mode("dead"),
    "proxy-blackhole": _proxy_mode("blackhole"),
    "proxy-slow": _proxy_mode("slow"),
    "proxy-banned": _proxy_mode("banned"),
    "proxy-leaking": _proxy_mode("leaking"),
    "maintenance-stuck": _Fault(_stuck_scope, _open_stuck, _close_stuck),
    "site-down": _front(
        "site-down", "down", True, "is down: every page answers 503 Service Unavailable"
    ),
    "site-slow": _front(
        "site-slow",
        "slow",
        True,
        f"answers every page {SITE_SLOW_SECONDS:g} s late (within the scrapers' timeout)",
    ),
    "site-blocking": _lifting_bans(
        _front(
            "site-blocking",
            "block_proxies",
            True,
            "answers the lab's proxies with a captcha page (HTTP 403); direct requests are fine",
        )
    ),
    "rate-limited": _front(
        "rate-limited",
        "rate_limit",
        SHOP_RATE_LIMIT,
        f"admits {SHOP_RATE_LIMIT:g} requests/s; above, HTTP 429 with Retry-After",
    ),
    "price-jump": _front(
        "price-jump",
        "price_glitch",
        PRICE_GLITCH,
        f"shows {PRICE_GLITCH:.0%} of its pages with the price x100 (a template that lost the"
        " decimal separator, on some servers only)",
    ),
    "slow-query": _Fault(lambda _s, _t: None, inject_slow_query, heal_slow_query),
    "disk-filling": _Fault(lambda _s, _t: None, fill_disk, free_disk),
    "table-bloat": _Fault(lambda _s, _t: None, inject_bloat, heal_bloat),
    "stale-stats": _Fault(stale_target, inject_stale, heal_stale),
    "unused-index": _Fault(lambda _s, _t: None, inject_unused_index, heal_unused_index),
    "slow-week": _Fault(_domain, inject_slow_week, heal_slow_week),
    "overload": _Fault(lambda _s, _t: None, inject_overload, heal_overload),
    "cpu-hog": _Fault(_worker, inject_cpu_hog, heal_cpu_hog),
}


def _attack(name: str) -> _Fault:
    """Attack traffic against the lab's API (opslib.lab._api), running until healed."""

    def inject(host: FaultHost, _target: str | None) -> str:
        return start_attack(name, host.settings)

    def heal(host: FaultHost, _record: FaultRecord) -> str:
        return stop_attack(name, host.settings)

    return _Fault(lambda _s, _t: None, inject, heal)


_FAULTS.update({"brute-force": _attack("brute-force"), "scan": _attack("scan")})
_FAULTS["debug-left-on"] = _Fault(lambda _s, _t: None, inject_debug_left_on, heal_debug_left_on)


def _lab_attack(name: str) -> _Fault:
    """Attack traffic of opslib.lab._attacks against the lab's API, running until healed."""

    def inject(host: FaultHost, _target: str | None) -> str:
        return start_lab_attack(name, host.settings)

    def heal(host: FaultHost, _record: FaultRecord) -> str:
        return stop_lab_attack(name, host.settings)

    return _Fault(lambda _s, _t: None, inject, heal)


_FAULTS.update({name: _lab_attack(name) for name in LAB_ATTACKS})


# cert-expiring: the lab's TLS endpoint (opslib.lab._tls) serves a certificate that ends soon;
# the server reads the fault at every handshake, and issues a fresh one once it is healed.


def _expire_cert(_host: FaultHost, _target: str | None) -> str:
    return (
        "cert-expiring: the lab's TLS endpoint serves a certificate that ends in"
        f" {EXPIRING_DAYS} days"
    )


def _renew_cert(_host: FaultHost, _record: FaultRecord) -> str:
    return f"cert-expiring healed: a fresh {FRESH_DAYS}-day certificate at the next handshake"


_FAULTS["cert-expiring"] = _Fault(lambda _s, _t: None, _expire_cert, _renew_cert)
_FAULTS["image-outdated"] = _Fault(lambda _s, _t: None, inject_outdated, heal_outdated)
_FAULTS["half-patched"] = _Fault(_worker, inject_half_patched, heal_half_patched)
_FAULTS["rules-ignored"] = _Fault(lambda _s, _t: None, inject_rules_ignored, heal_rules_ignored)
_FAULTS["key-aged"] = _Fault(key_target, inject_key_aged, heal_key_aged)


def _fault(name: str) -> _Fault:
    try:
        return _FAULTS[name]
    except KeyError:
        raise LabError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}") from None


def normalise_target(name: str, settings: LabSettings, target: str | None) -> str | None:
    """The canonical target of fault ``name`` (a domain, a worker, a proxy label or None)."""
    return _fault(name).target(settings, target)


def inject_fault(host: FaultHost, name: str, target: str | None) -> str:
    """Break the lab; ``target`` must be normalised already. Returns the description."""
    return _fault(name).inject(host, target)


def heal_fault(host: FaultHost, record: FaultRecord) -> str:
    return _fault(record.name).heal(host, record)
