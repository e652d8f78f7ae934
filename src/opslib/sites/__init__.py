"""Site availability (the runbook's ``verify_sites``): is each shop up, down, slow, blocking
us, rate-limiting us, or are our proxies failing? Every site is fetched directly and through
a sample of pool proxies, concurrently, each request within its timeout.

The emergency suite and ``opslib sites verify`` call::

    targets = site_targets(db, settings.tables, ["shop.example"])   # or every monitored domain
    report = verify_sites(targets, settings, sample_proxies(pool, settings.sites.via_proxies))
    report.of("shop.example").verdict   # Verdict.UP, .DOWN, .BLOCKING, .RATE_LIMITED ...
    site_availability(report)           # a CheckResult for the suites (ops_verdict)
"""

from opslib.sites._check import VERDICT_LIMIT, site_availability, sites_that_err
from opslib.sites._content import BODY_LIMIT, classify_answer, retry_after_seconds
from opslib.sites._judge import failing_proxies, judge
from opslib.sites._model import Outcome, Probe, SiteReport, SiteTarget, SiteVerdict, Verdict
from opslib.sites._probe import Prober, resolve_override
from opslib.sites._targets import parse_site, site_targets
from opslib.sites._verify import averify_sites, sample_proxies, verify_sites

__all__ = [
    "BODY_LIMIT",
    "VERDICT_LIMIT",
    "Outcome",
    "Probe",
    "Prober",
    "SiteReport",
    "SiteTarget",
    "SiteVerdict",
    "Verdict",
    "averify_sites",
    "classify_answer",
    "failing_proxies",
    "judge",
    "parse_site",
    "resolve_override",
    "retry_after_seconds",
    "sample_proxies",
    "site_availability",
    "site_targets",
    "sites_that_err",
    "verify_sites",
]
