"""checks/emergency/data_quality/test_extractors.py against the live lab, through the command
line: reference pages and a pattern generated from the lab's recent high-confidence history
(pages fetched from the shop now), green; the fault low-confidence switches the domain's
layout: the reference pages of today fail the pattern, red naming `opslib patterns generate`;
a pattern generated on the new layout and deployed, green; healed (the old layout back), red
naming `opslib patterns rollback`; rolled back, green."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from opslib.adapters import Database
from opslib.cli import main
from opslib.config import Settings, load_settings
from opslib.extraction._verify import extractor_accuracy
from opslib.lab import Lab
from opslib.results import Severity


@pytest.fixture
def stack(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Database, Settings]]:
    monkeypatch.setenv("OPSLIB_CONFIG", str(lab.config_file))
    monkeypatch.setenv("OPSLIB_ACTOR", "lab-test")
    settings = load_settings(lab.config_file)
    assert settings.database_dsn is not None
    with Database(settings.database_dsn, connect_timeout=settings.timeouts.connect) as db:
        yield db, settings


def _collect(domain: str) -> None:
    argv = ["patterns", "reference", "collect", domain, "--replace", "--hours", "24"]
    assert main(argv) == 0


def test_extractor_check_on_lab(lab: Lab, stack: tuple[Database, Settings]) -> None:
    db, settings = stack
    target = lab.domains[3]
    lab.heal()
    try:
        _collect(target)
        assert main(["patterns", "generate", target, "--deploy"]) == 0
        healthy = extractor_accuracy(db, settings)
        assert healthy.severity is Severity.OK, healthy.message()

        lab.inject("low-confidence", target)
        _collect(target)  # today's pages of the domain: the new layout
        red = extractor_accuracy(db, settings)
        assert red.severity is Severity.CRITICAL, red.message()
        assert [m.subject for m in red.problems] == [target]
        assert f"opslib patterns generate {target}" in red.message()
        assert main(["patterns", "generate", target, "--deploy"]) == 0
        fixed = extractor_accuracy(db, settings)
        assert fixed.severity is Severity.OK, fixed.message()

        lab.heal()
        _collect(target)  # the old layout is back: version 2 reads it wrong
        back = extractor_accuracy(db, settings)
        assert back.severity is Severity.CRITICAL, back.message()
        assert f"opslib patterns rollback {target}" in back.message()
        assert main(["patterns", "rollback", target]) == 0
        healed = extractor_accuracy(db, settings)
        assert healed.severity is Severity.OK, healed.message()
    finally:
        lab.heal()
        db.execute("DELETE FROM opslib.reference_pages WHERE domain = %s", (target,))
        db.execute("DELETE FROM opslib.extraction_patterns WHERE domain = %s", (target,))
