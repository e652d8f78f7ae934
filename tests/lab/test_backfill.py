"""The Prometheus history a new lab starts with follows the healthy steady state."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.openmetrics.parser import text_string_to_metric_families

from opslib.lab import LabSettings
from opslib.lab._backfill import HISTORY_HOURS, openmetrics_history
from opslib.lab._catalog import domain_profile

END = 1_800_000_000.0


def _finals(settings: LabSettings) -> dict[str, float]:
    """The last value of each counter family, summed over its series."""
    lines = list(openmetrics_history(settings, END))
    histogram = lines.index("# TYPE scraper_request_duration_seconds histogram")
    text = "\n".join([*lines[:histogram], "# EOF"]) + "\n"  # counters and gauges suffice
    finals: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):  # type: ignore[no-untyped-call]
        for s in family.samples:
            if s.name.endswith("_total"):
                key = tuple(sorted(s.labels.items()))
                finals.setdefault(s.name, {})[key] = s.value  # samples come in time order
    return {name: sum(series.values()) for name, series in finals.items()}


def test_history_has_the_healthy_error_share() -> None:
    settings = LabSettings.for_tests(Path("/nonexistent"), 20000)
    finals = _finals(settings)
    expected = sum(domain_profile(i)[1] for i in range(settings.domains)) / settings.domains
    share = finals["scraper_errors_total"] / finals["scraper_requests_total"]
    # Each 15 s step holds a small fraction of one error; rounding per step made it 0.
    assert 0.7 * expected < share < 1.3 * expected, (share, expected)
    assert finals["scraper_processed_total"] > HISTORY_HOURS * 3600 * 0.1
