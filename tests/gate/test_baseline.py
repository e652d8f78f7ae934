"""The baseline file: atomic, versioned, refused when it is not one this opslib reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opslib.config import Settings
from opslib.errors import InputError
from opslib.gate import (
    SCHEMA_VERSION,
    Baseline,
    ErrorFigures,
    baseline_saved,
    baseline_status,
    load_baseline,
    read_baseline,
    save_baseline,
)
from opslib.results import Severity
from tests.support import without_opslib_environment

AT = datetime(2025, 6, 1, 2, 0, tzinfo=UTC)
BASELINE = Baseline(
    captured_at=AT,
    platform="pricewatch",
    errors=ErrorFigures(window="1h", rate=0.2, ratio=0.01, domain_ratio={"a.test": 0.02}),
    running={"scraper": 3},
    unmeasured={"quality": "the database was not reachable"},
)


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    without_opslib_environment(monkeypatch)
    return Settings()


def test_saved_and_loaded_alike_with_nothing_left_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "reports" / "baseline.json"
    save_baseline(path, BASELINE)
    assert load_baseline(path) == BASELINE
    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION
    assert [p.name for p in path.parent.iterdir()] == ["baseline.json"]


def test_another_schema_version_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps({**json.loads(BASELINE.model_dump_json()), "schema_version": 2}))
    with pytest.raises(InputError, match="schema_version 2 is not 1"):
        load_baseline(path)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{not json", "cannot be read"),
        ('{"schema_version": 1, "platform": "p"}', "captured_at: Field required"),
        ("[1, 2]", "schema_version None"),
    ],
)
def test_a_broken_file_is_an_error_naming_it(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(text)
    found = read_baseline(path, "p")
    assert found.usable is None
    assert problem in found.error
    assert str(path) in found.error


def test_missing_or_foreign_is_missing_not_an_error(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "baseline.json"
    missing = read_baseline(path, "pricewatch")
    assert (missing.usable, missing.error) == (None, "")
    assert "no baseline at" in missing.missing
    save_baseline(path, BASELINE)
    foreign = read_baseline(path, "another")
    assert foreign.usable is None
    assert "of another platform (pricewatch)" in foreign.missing
    status = baseline_status(foreign, settings)
    assert status.severity is Severity.WARNING
    assert "judged against absolute thresholds" in status.message()
    assert read_baseline(path, "pricewatch").usable == BASELINE


def test_status_shows_the_baseline_age(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "baseline.json"
    save_baseline(path, BASELINE)
    found = read_baseline(path, "pricewatch")
    fresh = baseline_status(found, settings, AT + timedelta(minutes=30))
    assert fresh.severity is Severity.OK
    assert fresh.measurements[0].value == 0.5
    assert "not measured then: quality" in fresh.measurements[0].note
    assert baseline_status(found, settings, AT + timedelta(hours=30)).severity is Severity.WARNING
    path.write_text("{")
    assert baseline_status(read_baseline(path, "p"), settings).severity is Severity.UNKNOWN


def test_saved_check_names_what_was_not_measured() -> None:
    result = baseline_saved(BASELINE, "reports/baseline.json")
    assert result.severity is Severity.WARNING
    assert "not_measured[quality]" in result.message()
    nothing = Baseline(captured_at=AT, platform="p", unmeasured={"errors": "down"})
    assert baseline_saved(nothing, "x").severity is Severity.UNKNOWN
