"""The baseline the post-deploy checks compare with (read once per run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opslib import gate
from opslib.config import Settings
from opslib.connect import describe_platform


@pytest.fixture(scope="session")
def baseline(ops_baseline: Path, ops_settings: Settings) -> gate.BaselineFile:
    """The pre-deploy baseline (``--ops-baseline``), or why there is none."""
    return gate.read_baseline(ops_baseline, describe_platform(ops_settings))
