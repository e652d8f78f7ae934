"""From probes to a verdict: pure functions, no network.

A site is judged on its direct request first, then on what the sampled proxies got:

- **rate-limiting us**: at least half of the requests that reached it answered 429;
- **down**: directly no answer (name, connection, TLS, timeout) or 5xx, and no better through
  most proxies (fine through most of them: up, with the direct failure noted);
- **blocking us**: a captcha or block page directly, or fine directly and refused through
  most proxies that work (403, a block page, no connection through them);
- **our proxies failing**: fine directly, and at least half of the proxies are unusable: they
  refuse us, or they reach no site that is fine directly (two sites at least);
- **slow**: fine, over the ``sites.latency`` threshold directly;
- **unknown**: it answers, but not with the shop's page (nothing to tell from);
- **up** otherwise; a certificate close to its end (``sites.cert_days``) is a warning.

Majorities, not single requests, decide, so one random 5xx or 429 of a healthy shop does not
turn it red.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from opslib.results import Severity, Threshold, worst
from opslib.sites._model import Outcome, Probe, SiteTarget, SiteVerdict, Verdict

__all__ = ["failing_proxies", "judge"]

_NO_SITE = (Outcome.UNREACHABLE, Outcome.ERROR)


def failing_proxies(probes: Mapping[str, Sequence[Probe]]) -> frozenset[str]:
    """Proxies (by URL) that cannot be used: refused or unreachable themselves for some site,
    or reaching none of the sites that are fine directly (when there are two or more)."""
    fine = [
        domain
        for domain, found in probes.items()
        if any(p.via is None and p.outcome is Outcome.OK for p in found)
    ]
    by_proxy: dict[str, dict[str, Probe]] = {}
    for domain, found in probes.items():
        for probe in found:
            if probe.via is not None:
                by_proxy.setdefault(probe.via, {})[domain] = probe
    broken = set()
    for proxy, seen in by_proxy.items():
        refused = any(p.outcome is Outcome.PROXY_FAILED for p in seen.values())
        reaches_none = len(fine) >= 2 and all(
            d in seen and seen[d].outcome is Outcome.UNREACHABLE and seen[d].stage == "proxy"
            for d in fine
        )
        if refused or reaches_none:
            broken.add(proxy)
    return frozenset(broken)


def _host(domain: str) -> str:
    """The domain without the port a URL gave it (``shop.test:8443``): what commands take."""
    if domain.startswith("["):
        return domain.partition("]")[0] + "]"
    return domain.partition(":")[0]


def _share(part: int, whole: int) -> str:
    return f"{part} of {whole}"


def judge(
    target: SiteTarget,
    probes: Sequence[Probe],
    broken: frozenset[str],
    *,
    latency: Threshold,
    cert_days: Threshold,
) -> SiteVerdict:
    """The verdict on ``target`` from its probes (one direct, any through proxies); ``broken``
    are the proxies :func:`failing_proxies` found unusable in this run."""
    direct = next((p for p in probes if p.via is None), None)
    crashed = [p for p in probes if p.stage == "error"]
    notes: list[str] = []
    if direct is None or crashed:
        why = crashed[0].detail if crashed else "no direct request was made"
        decided = _Decision(Verdict.UNKNOWN, f"could not be verified: {why}")
    else:
        host = _host(target.domain)
        decided = _decide(host, direct, probes, broken, latency=latency, notes=notes)
    severity = decided.kind.severity
    days = direct.cert_days_left if direct is not None else None
    if days is not None and cert_days.evaluate(days) is not Severity.OK:
        notes.append(f"certificate ends in {days:g} days ({cert_days.describe()})")
        severity = worst((severity, Severity.WARNING))
    return SiteVerdict(
        target.domain, target.url, decided.kind, decided.reason, decided.action, tuple(probes),
        severity, decided.retry_after, tuple(notes),
    )  # fmt: skip


@dataclass(frozen=True)
class _Decision:
    kind: Verdict
    reason: str
    action: str | None = None
    retry_after: float | None = None


def _rate_limited(domain: str, limited: list[Probe], answered: int) -> _Decision:
    waits = [p.retry_after for p in limited if p.retry_after is not None]
    retry = max(waits) if waits else None
    after = f", Retry-After {retry:g} s" if retry is not None else ", no Retry-After"
    action = f"opslib ratelimit set {domain} --rate 1/s"
    if retry is not None and retry >= 60:
        action += f" && opslib domains cooldown {domain} --for {math.ceil(retry / 60)}m"
    reason = f"{_share(len(limited), answered)} requests answered HTTP 429{after}"
    return _Decision(Verdict.RATE_LIMITED, reason, action, retry)


def _decide(  # noqa: PLR0911 - one return per verdict
    domain: str,
    direct: Probe,
    probes: Sequence[Probe],
    broken: frozenset[str],
    *,
    latency: Threshold,
    notes: list[str],
) -> _Decision:
    via = [p for p in probes if p.via is not None]
    unusable = [p for p in via if p.via in broken or p.outcome is Outcome.PROXY_FAILED]
    through = [p for p in via if p not in unusable]
    if unusable and len(unusable) < len(via):
        names = ", ".join(sorted({str(p.via) for p in unusable}))
        notes.append(f"{_share(len(unusable), len(via))} proxies unusable: {names}")
    answered = [direct, *through]
    limited = [p for p in answered if p.outcome is Outcome.LIMITED]
    if limited and 2 * len(limited) >= len(answered):
        return _rate_limited(domain, limited, len(answered))
    fine_through = [p for p in through if p.outcome is Outcome.OK]
    cooldown = f"opslib domains cooldown {domain} --for 30m"
    if direct.outcome in _NO_SITE:
        if not through or 2 * len(fine_through) <= len(through):
            where = "" if direct.detail.lower().startswith(direct.stage) else f"{direct.stage}: "
            reason = f"{where}{direct.detail}"
            if through:
                reason += f"; through proxies {_share(len(fine_through), len(through))} fine"
            return _Decision(Verdict.DOWN, reason, cooldown)
        notes.append(f"directly {direct.detail}, but fine through proxies")
    elif direct.outcome is Outcome.BLOCKED:
        return _Decision(Verdict.BLOCKING, f"a block page directly: {direct.detail}", cooldown)
    elif direct.outcome is Outcome.UNEXPECTED:
        reason = f"answers, but not with the shop's page: {direct.detail}"
        return _Decision(Verdict.UNKNOWN, reason)
    elif via and 2 * len(unusable) >= len(via):
        reason = (
            f"fine directly; {_share(len(unusable), len(via))} proxies unusable for every site"
            f" ({unusable[0].detail})"
        )
        return _Decision(
            Verdict.PROXIES_FAILING, reason, "opslib proxies test && opslib proxies rotate"
        )
    refused = [p for p in through if p.outcome is not Outcome.OK]
    if direct.outcome is Outcome.OK and through and 2 * len(refused) > len(through):
        reason = (
            f"fine directly, refused through {_share(len(refused), len(through))} proxies"
            f" ({refused[0].detail})"
        )
        return _Decision(Verdict.BLOCKING, reason, "opslib proxies rotate")
    ok = direct.outcome is Outcome.OK or not fine_through
    reference = direct if ok else fine_through[0]
    where = "directly" if reference is direct else f"through {reference.via}"
    shown = "-" if reference.latency_ms is None else f"{reference.latency_ms:.0f} ms"
    if latency.evaluate(reference.latency_ms) is not Severity.OK:
        reason = f"answers {where} in {shown} ({latency.describe()})"
        return _Decision(Verdict.SLOW, reason, f"opslib ratelimit set {domain} --concurrency 2")
    proxies = f" and through {_share(len(fine_through), len(through))} proxies" if through else ""
    return _Decision(Verdict.UP, f"fine {where} ({reference.detail}, {shown}){proxies}")
