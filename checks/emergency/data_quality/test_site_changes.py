"""emergency.data_quality: detect site changes. Has a shop changed its page layout?

A few monitored pages of every domain (``sites.change_pages``) are fetched directly and their
DOM skeleton (prices, text and ads left out) compared with the stored baseline
(``opslib.site_baselines``); pages seen for the first time become it. A changed layout is
CRITICAL and names ``opslib patterns generate DOMAIN``; the price no longer found on pages that
had one is a WARNING. `opslib sites changes` shows every page.
"""

from __future__ import annotations

import pytest

from opslib.adapters import Database
from opslib.config import Settings
from opslib.pytest_plugin import Verdict
from opslib.sites import site_changes

pytestmark = pytest.mark.sop("emergency.data_quality")


def test_site_changes(ops_db: Database, ops_settings: Settings, ops_verdict: Verdict) -> None:
    """No domain's page layout changed against its baseline (skeleton distance below
    ``sites.layout_distance``), and the price still found where it was."""
    ops_verdict(site_changes(ops_db, ops_settings))
