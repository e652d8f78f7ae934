"""emergency.data_quality: Data Quality Issues, which domains and what is wrong with their data.

Each domain over the last ``recent_minutes`` (the runbook's last hour): confidence below its
threshold (the runbook's 0.8), the share of rows without a price, implausible prices. Every red
check names the runbook's action as a command; `opslib quality by-domain` shows every figure.

The extractor checks sit beside this file, with the same marker: extractor accuracy on the
stored reference pages (`test_extractors.py`, `opslib patterns verify`) and site changes
(`test_site_changes.py`, `opslib sites changes`).
"""

from __future__ import annotations

import pytest

from opslib import quality
from opslib.adapters import Database
from opslib.config import Settings
from opslib.pytest_plugin import Verdict

pytestmark = pytest.mark.sop("emergency.data_quality")


def test_confidence_by_domain(
    ops_db: Database, ops_settings: Settings, ops_verdict: Verdict
) -> None:
    """No domain's average extraction confidence below its threshold (runbook: < 0.8)."""
    ops_verdict(quality.low_confidence_domains(ops_db, ops_settings))


def test_missing_prices_by_domain(
    ops_db: Database, ops_settings: Settings, ops_verdict: Verdict
) -> None:
    """No domain's share of rows without a price above its threshold."""
    ops_verdict(quality.missing_price_rates(ops_db, ops_settings))


def test_implausible_prices_by_domain(
    ops_db: Database, ops_settings: Settings, ops_verdict: Verdict
) -> None:
    """No domain with too many zero, negative or jumping prices, or currency changes."""
    ops_verdict(quality.implausible_prices(ops_db, ops_settings))
