"""weekly.performance_review: Weekly Operations 3 (weekly metrics, error patterns, trends).

This week against the previous one, from the database (``scrape_logs``, ``price_history``) and
Prometheus when it holds two weeks; ``opslib review weekly --html FILE`` shows the same with
the areas for optimisation ranked.
"""

from __future__ import annotations

import pytest

from opslib.adapters import Database, Prometheus
from opslib.config import Settings
from opslib.errors import OpsError
from opslib.pytest_plugin import Verdict
from opslib.results import CheckResult
from opslib.review import ReviewReport, performance_review

pytestmark = pytest.mark.sop("weekly.performance_review")


@pytest.fixture(scope="module")
def prometheus(request: pytest.FixtureRequest) -> Prometheus | OpsError:
    """The Prometheus fixture, or why it cannot be reached (the database figures go on)."""
    try:
        found: Prometheus = request.getfixturevalue("ops_prometheus")
    except OpsError as exc:
        return exc
    return found


@pytest.fixture(scope="module")
def review(
    ops_db: Database, ops_settings: Settings, prometheus: Prometheus | OpsError
) -> ReviewReport:
    """The week's review, computed once for the checks below."""
    source = None if isinstance(prometheus, OpsError) else prometheus
    return performance_review(ops_db, ops_settings, prometheus=source)


def test_response_times_by_domain(review: ReviewReport, ops_verdict: Verdict) -> None:
    """p95 response time not up and success rate not down by domain, week on week."""
    ops_verdict(review.results[0])


def test_throughput(review: ReviewReport, ops_verdict: Verdict) -> None:
    """Requests made and prices delivered per day not down, week on week."""
    ops_verdict(review.results[1])


def test_prometheus_trends(
    review: ReviewReport, prometheus: Prometheus | OpsError, ops_verdict: Verdict
) -> None:
    """Processed items, queue and CPU/memory per service (Prometheus), week on week."""
    result = review.results[2]
    if isinstance(prometheus, OpsError):
        result = CheckResult.unknown(result.sop, result.title, str(prometheus))
    ops_verdict(result)
