"""weekly.performance_review: response times, success rates, throughput, queue and resources,
this week against the previous one, and the areas for optimisation ranked."""

from opslib.review._database import DailyFigures, WeekFigures
from opslib.review._prometheus import InstantQuery, WeekOnWeek
from opslib.review._report import (
    Area,
    DomainChange,
    ReviewReport,
    areas_table,
    performance_review,
)

__all__ = [
    "Area",
    "DailyFigures",
    "DomainChange",
    "InstantQuery",
    "ReviewReport",
    "WeekFigures",
    "WeekOnWeek",
    "areas_table",
    "performance_review",
]
