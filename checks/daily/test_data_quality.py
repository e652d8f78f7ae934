"""daily.data_quality: Daily Operations 3 (the hourly extraction query)."""

from __future__ import annotations

import pytest

from opslib import quality
from opslib.adapters import Database
from opslib.config import Settings
from opslib.pytest_plugin import Verdict

pytestmark = pytest.mark.sop("daily.data_quality")


def test_data_freshness(ops_db: Database, ops_settings: Settings, ops_verdict: Verdict) -> None:
    """New rows keep arriving and no hour of the last 24 h is missing."""
    ops_verdict(quality.data_freshness(ops_db, ops_settings))


def test_price_coverage(ops_db: Database, ops_settings: Settings, ops_verdict: Verdict) -> None:
    """with_price / total per hour above threshold."""
    ops_verdict(quality.price_coverage(ops_db, ops_settings))


def test_extraction_confidence(
    ops_db: Database, ops_settings: Settings, ops_verdict: Verdict
) -> None:
    """Average extraction confidence per hour above threshold."""
    ops_verdict(quality.extraction_confidence(ops_db, ops_settings))


def test_domain_confidence(ops_db: Database, ops_settings: Settings, ops_verdict: Verdict) -> None:
    """No shop domain's average confidence below threshold (the runbook's by-domain query)."""
    ops_verdict(quality.domain_confidence(ops_db, ops_settings))
