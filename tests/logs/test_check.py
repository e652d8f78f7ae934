"""emergency.high_error_rate's log check: lines from log files (in the window), the top error
patterns with their likely cause and command, and new ones against a baseline or the window
before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opslib.config import LogSettings, Settings
from opslib.errors import InputError
from opslib.logs import PatternMiner, error_patterns, recent_log_lines, save_baseline
from opslib.results import Severity

RATE_LIMITED = [
    f"GET https://alpha-shop.test/p/{i} failed: HTTP 429 Too Many Requests (retry after 5s)"
    f" via proxy 127.0.0.1:{30000 + i}"
    for i in range(40)
]


def _lines(at: datetime, ok: int, errors: list[str]) -> list[str]:
    stamp = at.strftime("%Y-%m-%d %H:%M:%S,000")
    lines = [f"{stamp} INFO scraper: scraper-0: stored price of item {i}" for i in range(ok)]
    return lines + [f"{stamp} ERROR scraper: {text}" for text in errors]


def _settings(tmp: Path, *files: Path, baseline: Path | None = None) -> Settings:
    logs = LogSettings(files=list(files), baseline_file=baseline or tmp / "none.json")
    return Settings(logs=logs, error_window="1h")


def test_the_window_before_is_the_baseline(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    log = tmp_path / "scraper-0.log"
    before = _lines(now - timedelta(minutes=90), 50, ["price not found on https://a.test/p/1"])
    log.write_text("\n".join(before + _lines(now, 60, RATE_LIMITED)) + "\n")
    ancient = tmp_path / "scraper-1.log"
    ancient.write_text("\n".join(_lines(now - timedelta(hours=5), 0, ["HTTP 503"] * 50)) + "\n")
    settings = _settings(tmp_path, log, ancient, tmp_path / "not-yet.log")
    lines = list(recent_log_lines(settings, None, now - timedelta(hours=2)))
    assert len(lines) == 151  # 5 h old lines are outside; a missing file has none
    result = error_patterns(lines, settings, now=now, what="scraper")
    assert result.severity is Severity.WARNING
    records, new = result.measurements
    assert records.value == 40
    assert "rate-limiting us" in records.note
    assert new.value == 1
    assert "against the 1h before" in new.note
    assert "opslib ratelimit set alpha-shop.test" in result.remediation
    assert result.tables[0].rows[0][4] == "alpha-shop.test"


def test_a_stored_baseline_wins_and_known_errors_are_ok(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    log = tmp_path / "scraper-0.log"
    log.write_text("\n".join(_lines(now, 97, ["price not found on https://a.test/p/1"] * 3)))
    settings = _settings(tmp_path, log)
    since = now - timedelta(hours=2)
    good = PatternMiner(settings.logs)
    for line in recent_log_lines(settings, None, since):
        good.add(line.text)
    baseline = save_baseline(good.patterns(), tmp_path / "baseline.json")
    settings = _settings(tmp_path, log, baseline=baseline)
    known = error_patterns(recent_log_lines(settings, None, since), settings, now=now)
    assert known.severity is Severity.OK
    assert known.measurements[1].value == 0

    log.write_text("\n".join(_lines(now, 97, ["proxy tunnel failed: 502"] * 2)))
    result = error_patterns(recent_log_lines(settings, None, since), settings, now=now)
    assert result.severity is Severity.WARNING
    assert "proxy tunnel failed" in result.measurements[1].note
    assert "our proxies failing" in result.measurements[1].note
    assert "opslib proxies rotate" in result.remediation


def test_nothing_to_compare_with_is_said_and_no_lines_is_quiet(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    log = tmp_path / "scraper-0.log"
    log.write_text("\n".join(_lines(now, 5, ["HTTP 503 Service Unavailable"])))
    settings = _settings(tmp_path, log)
    result = error_patterns(recent_log_lines(settings, None, now - timedelta(hours=2)), settings)
    assert result.severity is Severity.OK
    assert [m.name for m in result.measurements] == ["error_records"]
    assert "new ones not judged: no baseline file" in result.measurements[0].note
    quiet = error_patterns([], settings)  # scrapers that log only failures: nothing failed
    assert quiet.severity is Severity.OK
    assert "no log line in the last 1h" in quiet.measurements[0].note
    missing = _settings(tmp_path, tmp_path / "nope.log")
    with pytest.raises(InputError, match=r"none of logs\.files exists"):
        list(recent_log_lines(missing, None, now))
