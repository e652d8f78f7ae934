"""What site verification produces: probes, a verdict per site, the report of a run."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from opslib.results import Severity, worst

__all__ = ["Outcome", "Probe", "SiteReport", "SiteTarget", "SiteVerdict", "Verdict"]


class Outcome(StrEnum):
    """How one request to a site ended."""

    OK = "ok"
    """The page looks like the shop (or the site redirected)."""
    BLOCKED = "blocked"
    """401/403/451, or a captcha or block page."""
    LIMITED = "limited"
    """429 Too Many Requests."""
    ERROR = "error"
    """The site answered 5xx."""
    UNEXPECTED = "unexpected"
    """An answer that is not the shop's page (404, no price or product marker)."""
    UNREACHABLE = "unreachable"
    """No answer from the site: name, connection, TLS or timeout."""
    PROXY_FAILED = "proxy_failed"
    """The proxy itself could not be used (refused, timed out, wants authentication)."""


class Verdict(StrEnum):
    """What is the matter with a site, as the high-error-rate emergency asks."""

    UP = "up"
    SLOW = "slow"
    DOWN = "down"
    BLOCKING = "blocking"
    PROXIES_FAILING = "proxies-failing"
    RATE_LIMITED = "rate-limited"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        """The verdict in words (``blocking us``, ``our proxies failing`` ...)."""
        return _LABELS[self]

    @property
    def severity(self) -> Severity:
        """OK for up, WARNING for slow, UNKNOWN for unknown, CRITICAL for the rest."""
        return _SEVERITY.get(self, Severity.CRITICAL)


_LABELS = {
    Verdict.UP: "up",
    Verdict.SLOW: "slow",
    Verdict.DOWN: "down",
    Verdict.BLOCKING: "blocking us",
    Verdict.PROXIES_FAILING: "our proxies failing",
    Verdict.RATE_LIMITED: "rate-limiting us",
    Verdict.UNKNOWN: "unknown",
}
_SEVERITY = {
    Verdict.UP: Severity.OK,
    Verdict.SLOW: Severity.WARNING,
    Verdict.UNKNOWN: Severity.UNKNOWN,
}


@dataclass(frozen=True)
class SiteTarget:
    """A site to verify: its domain and the page fetched (a monitored URL, or ``/``)."""

    domain: str
    url: str


@dataclass(frozen=True)
class Probe:
    """One request to a site, directly (``via`` None) or through a proxy (its URL, never its
    credentials). ``stage`` is where it ended: resolve, connect, tls, proxy, http or content."""

    via: str | None
    outcome: Outcome
    stage: str
    detail: str
    status: int | None = None
    latency_ms: float | None = None
    address: str | None = None
    retry_after: float | None = None
    cert_days_left: float | None = None

    @property
    def route(self) -> str:
        """``direct`` or ``via <proxy>``."""
        return "direct" if self.via is None else f"via {self.via}"

    def describe(self) -> str:
        """One line: route, outcome and what was seen."""
        took = "" if self.latency_ms is None else f", {self.latency_ms:.0f} ms"
        return f"{self.route}: {self.outcome.value} ({self.detail}{took})"


@dataclass(frozen=True)
class SiteVerdict:
    """The verdict on one site with its evidence and the runbook action (a command, or None
    when nothing is to be done)."""

    domain: str
    url: str
    verdict: Verdict
    reason: str
    action: str | None
    probes: tuple[Probe, ...]
    severity: Severity
    retry_after: float | None = None
    notes: tuple[str, ...] = ()

    @property
    def direct(self) -> Probe | None:
        """The direct probe, if one was made."""
        return next((p for p in self.probes if p.via is None), None)

    @property
    def evidence(self) -> tuple[str, ...]:
        """The reason, the notes, then one line per probe."""
        return (self.reason, *self.notes, *(p.describe() for p in self.probes))


@dataclass(frozen=True)
class SiteReport:
    """Every site's verdict in one run; ``proxies`` were sampled from the pool, of which
    ``failing_proxies`` could not be used for any site."""

    verdicts: tuple[SiteVerdict, ...]
    proxies: tuple[str, ...] = ()
    failing_proxies: tuple[str, ...] = ()
    elapsed_s: float = 0.0

    @property
    def severity(self) -> Severity:
        """The worst of the verdicts (OK for none)."""
        return worst(v.severity for v in self.verdicts)

    def of(self, domain: str) -> SiteVerdict:
        """The verdict on ``domain`` (KeyError when it was not verified)."""
        for verdict in self.verdicts:
            if verdict.domain == domain:
                return verdict
        raise KeyError(domain)
