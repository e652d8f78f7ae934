"""Site availability (the runbook's ``verify_sites``): is each shop up, down, slow, blocking
us, rate-limiting us, or are our proxies failing? Every site is fetched directly and through
a sample of pool proxies, concurrently, each request within its timeout.

The emergency suite and ``opslib sites verify`` call::

    targets = site_targets(db, settings.tables, ["shop.example"])   # or every monitored domain
    report = verify_sites(targets, settings, sample_proxies(pool, settings.sites.via_proxies))
    report.of("shop.example").verdict   # Verdict.UP, .DOWN, .BLOCKING, .RATE_LIMITED ...
    site_availability(report)           # a CheckResult for the suites (ops_verdict)

Site changes (``opslib sites changes``, emergency.data_quality): ``detect_site_changes``
compares a few pages of each domain with their stored baselines by structural
``fingerprint`` (the DOM skeleton; prices, text and ads left out) and says whether the
extraction engine still finds the price; ``site_changes`` is the check.
"""

from opslib.sites._changes import (
    ChangeReport,
    DomainChange,
    PageChange,
    change_targets,
    detect_site_changes,
    site_changes,
)
from opslib.sites._check import VERDICT_LIMIT, site_availability, sites_that_err
from opslib.sites._content import BODY_LIMIT, classify_answer, retry_after_seconds
from opslib.sites._fingerprint import Fingerprint, fingerprint, skeleton_distance
from opslib.sites._judge import failing_proxies, judge
from opslib.sites._model import Outcome, Probe, SiteReport, SiteTarget, SiteVerdict, Verdict
from opslib.sites._probe import Prober, resolve_override
from opslib.sites._targets import parse_site, site_targets
from opslib.sites._verify import averify_sites, sample_proxies, verify_sites

__all__ = [
    "BODY_LIMIT",
    "VERDICT_LIMIT",
    "ChangeReport",
    "DomainChange",
    "Fingerprint",
    "Outcome",
    "PageChange",
    "Probe",
    "Prober",
    "SiteReport",
    "SiteTarget",
    "SiteVerdict",
    "Verdict",
    "averify_sites",
    "change_targets",
    "classify_answer",
    "detect_site_changes",
    "failing_proxies",
    "fingerprint",
    "judge",
    "parse_site",
    "resolve_override",
    "retry_after_seconds",
    "sample_proxies",
    "site_availability",
    "site_changes",
    "site_targets",
    "sites_that_err",
    "skeleton_distance",
    "verify_sites",
]
