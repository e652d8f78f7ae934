"""The checks of ``emergency.security``: sources over their limits, probes that succeeded,
blocked sources still served. Each red measurement names the action as a command.

Sources that are blocked now are contained: the rate and probe checks list them apart and do
not judge them (their old requests stay in the window), and ``blocked_still_served`` makes sure
the block holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from opslib.config import Settings
from opslib.results import CheckResult, Measurement, Table
from opslib.security._analysis import Analysis, ClientReport
from opslib.security._blocklist import BlockEntry
from opslib.security._ranges import AddressSet

__all__ = ["SOP", "blocked_still_served", "check_access_patterns", "sensitive_requests"]

SOP = "emergency.security"
"""The SOP id of the security incident checks."""
_TOP = 10


def _no_logs(analysis: Analysis, title: str) -> CheckResult | None:
    if not analysis.sources:
        return CheckResult.unknown(
            SOP, title, "no access log configured (security.access_logs) or given"
        )
    return None


def _split(analysis: Analysis, blocked: AddressSet) -> tuple[list[ClientReport], list[str]]:
    judged, contained = [], []
    for client in analysis.clients:
        if client.client in blocked:
            contained.append(client.client)
        else:
            judged.append(client)
    return judged, contained


def check_access_patterns(
    analysis: Analysis, blocked: AddressSet, settings: Settings
) -> CheckResult:
    """No source (not blocked) above ``security.request_rate`` or ``security.auth_failures``
    over the window; the busiest sources are measured, the worst first."""
    title = f"request rate and authentication failures per source over {settings.security.window}"
    missing = _no_logs(analysis, title)
    if missing is not None:
        return missing
    rate_limit = settings.threshold("security.request_rate")
    auth_limit = settings.threshold("security.auth_failures")
    judged, contained = _split(analysis, blocked)
    measurements: list[Measurement] = []
    actions: list[str] = []
    busiest = sorted(judged, key=lambda c: (-c.rate, -c.auth_failures))[:_TOP]
    loudest = sorted(judged, key=lambda c: -c.auth_failures)[:_TOP]
    for client in dict.fromkeys([*busiest, *loudest]):
        action = client.action or f"opslib security block {client.client} --for 24h"
        for name, value, limit in (
            ("request_rate", round(client.rate, 3), rate_limit),
            ("auth_failures", round(client.auth_failures_per_minute, 3), auth_limit),
        ):
            m = Measurement(name, value, limit, client.client)
            if m.severity.rank:
                m = Measurement(name, value, limit, client.client, f"next: {action}")
                actions.append(action)
            measurements.append(m)
    if not measurements:
        measurements.append(Measurement("request_rate", 0.0, rate_limit, note="no requests"))
    rows = tuple(
        (
            c.client,
            f"{c.rate:.2f}",
            str(c.auth_failures),
            f"{c.error_share:.0%}",
            "; ".join(c.reasons),
        )
        for c in busiest
    ) + tuple((ip, "-", "-", "-", "blocked: contained") for ip in contained[:_TOP])
    return CheckResult(
        SOP,
        title,
        tuple(measurements),
        remediation="; ".join(dict.fromkeys(actions)),
        tables=(
            Table(("source", "requests/s", "auth failures", "errors", "evidence"), rows, "sources"),
        ),
    )


def sensitive_requests(analysis: Analysis, blocked: AddressSet, settings: Settings) -> CheckResult:
    """No request to a sensitive path (admin, dot-files, traversal, injection) answered 2xx,
    per source not blocked (``security.sensitive_successes``)."""
    title = f"requests to sensitive paths that succeeded over {settings.security.window}"
    missing = _no_logs(analysis, title)
    if missing is not None:
        return missing
    limit = settings.threshold("security.sensitive_successes")
    judged, _contained = _split(analysis, blocked)
    measurements, actions, rows = [], [], []
    for client in judged:
        if not client.sensitive_successes:
            continue
        action = client.action or f"opslib security block {client.client} --for 24h"
        actions.append(action)
        shown = ", ".join(client.samples[:3])
        note = f"probed {shown}; next: {action} (and close what answered)"
        measurements.append(
            Measurement(
                "sensitive_successes", client.sensitive_successes, limit, client.client, note
            )
        )
        rows.append(
            (client.client, str(client.unusual_paths), str(client.sensitive_successes), shown)
        )
    if not measurements:
        probes = sum(c.unusual_paths for c in judged)
        measurements.append(
            Measurement("sensitive_successes", 0, limit, note=f"{probes} probe(s), none answered")
        )
    return CheckResult(
        SOP,
        title,
        tuple(measurements),
        remediation="; ".join(actions),
        tables=(Table(("source", "probes", "answered 2xx", "paths"), tuple(rows), "probes"),),
    )


def blocked_still_served(
    analysis: Analysis, entries: Sequence[BlockEntry], now: datetime, settings: Settings
) -> CheckResult:
    """No blocked source answered (other than ``security.blocked_status``) later than
    ``security.cache_seconds`` (plus 2 s) after its block began."""
    title = "blocked sources still getting through"
    missing = _no_logs(analysis, title)
    if missing is not None:
        return missing
    grace = timedelta(seconds=settings.security.cache_seconds + 2)
    active = [e for e in entries if e.active(now)]
    through: list[tuple[str, BlockEntry, datetime]] = []
    for entry in active:
        span = AddressSet.of([entry.network])
        for client in analysis.clients:
            served = client.last_served
            if served is not None and client.client in span and served > entry.created_at + grace:
                through.append((client.client, entry, served))
    rows = tuple(
        (
            ip,
            str(e.network),
            e.created_at.isoformat(timespec="seconds"),
            at.isoformat(timespec="seconds"),
        )
        for ip, e, at in through
    )
    note = (
        "the API does not honour the blocklist: enforce it at the edge with"
        " `opslib security firewall --apply`, and check the API calls opslib.security.is_blocked"
        if through
        else f"{len(active)} active block(s)"
    )
    return CheckResult(
        SOP,
        title,
        (
            Measurement(
                "blocked_served",
                len({ip for ip, _e, _a in through}),
                settings.threshold("security.blocked_served"),
                note=note,
            ),
        ),
        remediation="opslib security firewall --apply" if through else "",
        tables=(Table(("source", "blocked as", "since", "last served"), rows, "still served"),),
    )
