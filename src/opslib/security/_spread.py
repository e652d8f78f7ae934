"""Attacks spread thin: credential stuffing (many addresses, each failing authentication a
little, together a lot) and a leaked key (one valid key suddenly used from many addresses).
Neither shows per source: these checks look across sources.

A key is named in the advice when the API logs its name or its public prefix as the request's
user (``%u`` of the combined format): the analysis knows keys by fingerprint only, and
:func:`key_names` maps the fingerprints of the stored keys' names and prefixes back.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterable, Mapping

from opslib.config import Settings
from opslib.results import CheckResult, Measurement, Table
from opslib.security._analysis import Analysis, fingerprint
from opslib.security._checks import SOP
from opslib.security._keys import ApiKey
from opslib.security._ranges import AddressSet

__all__ = ["check_auth_spread", "check_key_spread", "key_names", "stuffing_networks"]

_TOP = 10
_GROUP_MIN = 3  # failing sources in one /24 (/64) before the whole range is the advice


def key_names(keys: Iterable[ApiKey]) -> dict[str, str]:
    """Fingerprint of each stored key's name and prefix -> that name or prefix (what
    ``opslib keys revoke`` takes)."""
    names: dict[str, str] = {}
    for key in keys:
        names[fingerprint(key.prefix)] = key.prefix
        names.setdefault(fingerprint(key.name), key.name)
    return names


def stuffing_networks(addresses: Iterable[str]) -> list[tuple[str, int]]:
    """The /24 (IPv4) or /64 (IPv6) ranges holding at least three of ``addresses``, with how
    many each holds, the fullest first."""
    counts: Counter[str] = Counter()
    for text in addresses:
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            continue
        prefix = 24 if ip.version == 4 else 64
        counts[str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))] += 1
    return [(net, n) for net, n in counts.most_common() if n >= _GROUP_MIN]


def check_auth_spread(analysis: Analysis, blocked: AddressSet, settings: Settings) -> CheckResult:
    """How many sources (not blocked) failed authentication over the window
    (``security.auth_failure_sources``): credential stuffing spreads its tries over many
    addresses, each below ``security.auth_failures``."""
    title = f"sources failing authentication over {settings.security.window} (credential stuffing)"
    if not analysis.sources:
        return CheckResult.unknown(SOP, title, "no access log configured (security.access_logs)")
    limit = settings.threshold("security.auth_failure_sources")
    failing = [c for c in analysis.clients if c.auth_failures and c.client not in blocked]
    failures = sum(c.auth_failures for c in failing)
    tried = sum(1 for k in analysis.keys if k.auth_failures and k.auth_failures >= k.requests)
    ranges = stuffing_networks(c.client for c in failing)
    measurement = Measurement(
        "auth_failure_sources", len(failing), limit, "all sources",
        f"{failures} failure(s) from {len(failing)} source(s), {tried} key(s) that never worked",
    )  # fmt: skip
    actions: list[str] = []
    if measurement.severity.rank:
        actions = [
            f"opslib security block {net} --for {settings.security.default_block}"
            " --reason 'credential stuffing'"
            for net, _n in ranges
        ] or ["opslib security analyze (then block the sources it ranks)"]
        measurement = Measurement(
            measurement.name, measurement.value, limit, measurement.subject,
            f"{measurement.note}; next: {'; '.join(actions)}",
        )  # fmt: skip
    rows = tuple(
        (c.client, str(c.auth_failures), str(c.requests), "; ".join(c.related[:3]))
        for c in sorted(failing, key=lambda c: -c.auth_failures)[:_TOP]
    )
    return CheckResult(
        SOP,
        title,
        (measurement,),
        remediation="; ".join(actions),
        tables=(
            Table(("source", "auth failures", "requests", "keys tried"), rows, "failing sources"),
            Table(("range", "failing sources"), tuple((n, str(c)) for n, c in ranges), "ranges"),
        ),
    )


def check_key_spread(
    analysis: Analysis,
    blocked: AddressSet,
    settings: Settings,
    names: Mapping[str, str] | None = None,
) -> CheckResult:
    """From how many addresses (not blocked) each key that was served came, over the window
    (``security.key_sources``): a leaked key turns up from many new addresses at once."""
    title = f"addresses per API key over {settings.security.window} (leaked keys)"
    if not analysis.sources:
        return CheckResult.unknown(SOP, title, "no access log configured (security.access_logs)")
    limit = settings.threshold("security.key_sources")
    known = names or {}
    spread = []
    for key in analysis.keys:
        if key.auth_failures >= key.requests:
            continue  # never worked: made-up or revoked keys are the auth checks' business
        sources = [ip for ip in key.related if ip not in blocked]
        if sources:
            spread.append((key, sources))
    spread.sort(key=lambda item: -len(item[1]))
    measurements: list[Measurement] = []
    actions: list[str] = []
    for key, sources in spread[:_TOP]:
        name = known.get(key.client)
        more = "+" if len(key.related) >= 64 else ""
        m = Measurement("key_sources", len(sources), limit, name or key.client)
        if m.severity.rank:
            why = f"--reason 'leaked: used from {len(sources)}{more} addresses'"
            action = (
                f"opslib keys revoke {name} {why}"
                if name
                else f"opslib keys revoke NAME {why} (key {key.client}: opslib keys list)"
            )
            ranges = stuffing_networks(sources)
            if ranges:
                action += f"; opslib security block {ranges[0][0]} --reason 'leaked key'"
            actions.append(action)
            m = Measurement(
                m.name, m.value, limit, m.subject,
                f"{key.requests} request(s), {key.rate:.1f}/s from {', '.join(sources[:4])}"
                f"{' ...' if len(sources) > 4 else ''}; next: {action}",
            )  # fmt: skip
        measurements.append(m)
    if not measurements:
        measurements.append(Measurement("key_sources", 0, limit, note="no key was served"))
    rows = tuple(
        (known.get(k.client, k.client), str(len(s)), str(k.requests), f"{k.rate:.2f}")
        for k, s in spread[:_TOP]
    )
    return CheckResult(
        SOP,
        title,
        tuple(measurements),
        remediation="; ".join(actions),
        tables=(Table(("key", "addresses", "requests", "requests/s"), rows, "keys"),),
    )
