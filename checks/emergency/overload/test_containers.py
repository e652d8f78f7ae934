"""emergency.overload: System Overload Response, the containers (runbook ``docker stats``):
CPU and memory of every container against the daily limits, naming ``opslib scale scraper N``,
``opslib limits set`` and ``opslib urls pause --priority low``."""

from __future__ import annotations

import pytest

from opslib import overload
from opslib.adapters import Platform
from opslib.config import Settings
from opslib.pytest_plugin import Verdict

pytestmark = pytest.mark.sop("emergency.overload")


def test_container_load(
    ops_platform: Platform, ops_settings: Settings, ops_verdict: Verdict
) -> None:
    """CPU % and memory % of limit of every container under health.cpu_percent and
    health.memory_percent."""
    ops_verdict(overload.container_load(ops_platform, ops_settings))
