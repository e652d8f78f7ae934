"""emergency.data_quality: do the extractors still read the right price?

Each domain's active pattern (else the engine alone) is run on the domain's stored reference
pages with known prices (`opslib patterns verify`); a domain whose accuracy falls below
``patterns.accuracy`` is red, and the check names the fix: `opslib patterns generate DOMAIN
--deploy` (a new pattern from recent pages, tested on held-out ones), or `opslib patterns
rollback DOMAIN` when the last deployed version broke it. Skipped while no domain has
reference pages (`opslib patterns reference collect DOMAIN` stores them).
"""

from __future__ import annotations

import pytest

from opslib.adapters import Database
from opslib.config import Settings
from opslib.extraction import PatternStore
from opslib.extraction._verify import extractor_accuracy
from opslib.pytest_plugin import Verdict

pytestmark = pytest.mark.sop("emergency.data_quality")


def test_extractor_accuracy(ops_db: Database, ops_settings: Settings, ops_verdict: Verdict) -> None:
    """Every domain's extractor reads its reference pages right (patterns.accuracy)."""
    if not PatternStore(ops_db).reference_counts():
        pytest.skip(
            "no reference pages stored: `opslib patterns reference collect DOMAIN` stores a"
            " domain's known-good pages"
        )
    ops_verdict(extractor_accuracy(ops_db, ops_settings))
