"""Monitored URLs under load (runbook System Overload: ``pause_low_priority``,
``adjust_scraping_intervals``): pause URLs by priority or domain for a while, lengthen or restore
their intervals, and the load each change removes, shown before it is made."""

from opslib.urls._controls import AUTO_RESUME_ACTOR, UrlControls
from opslib.urls._model import (
    IntervalChange,
    IntervalPlan,
    PausePlan,
    ResumePlan,
    Selection,
    UrlLoad,
    select_urls,
)

__all__ = [
    "AUTO_RESUME_ACTOR",
    "IntervalChange",
    "IntervalPlan",
    "PausePlan",
    "ResumePlan",
    "Selection",
    "UrlControls",
    "UrlLoad",
    "select_urls",
]
