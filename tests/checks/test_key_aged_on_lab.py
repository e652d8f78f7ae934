"""checks/emergency/security's key-age check on the session lab: the fault ``key-aged`` (a lab
client's key created 400 days ago) turns it red naming ``opslib keys rotate PREFIX``; running
that command brings it back to OK (the old key judged by its successor while it overlaps), and
heal leaves the lab's client served by its old key again."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from opslib import security
from opslib.cli import main
from opslib.config import Settings, load_settings
from opslib.connect import open_database
from opslib.lab import Lab
from opslib.results import CheckResult, Severity


def _judged(settings: Settings) -> CheckResult:
    with open_database(settings) as db:
        store = security.key_store(db, settings)
        return security.check_key_age(store.entries(), store.now(), settings)


@pytest.fixture
def settings(healthy_lab: Lab, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("OPSLIB_CONFIG", str(healthy_lab.config_file))
    monkeypatch.setenv("OPSLIB_ACTOR", "lab-test")
    try:
        yield load_settings(healthy_lab.config_file)
    finally:
        healthy_lab.heal()


def test_key_aged_fires_and_the_rotation_it_names_heals_it(
    healthy_lab: Lab, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _judged(settings).severity is Severity.OK, _judged(settings).message()
    assert "400 days ago" in healthy_lab.inject("key-aged")
    red = _judged(settings)
    assert red.severity is Severity.CRITICAL, red.message()
    assert [m.subject.split("/")[0] for m in red.problems] == ["lab-client-1"]
    named = re.search(r"opslib keys rotate (\S+) --overlap (\S+)", red.remediation)
    assert named, red.remediation
    capsys.readouterr()
    assert main(["keys", "rotate", named[1], "--overlap", named[2]]) == 0
    assert named[1] not in capsys.readouterr().err
    healed = _judged(settings)
    assert healed.severity is Severity.OK, healed.message()

    assert "as new again" in healthy_lab.heal("key-aged")[0]
    with open_database(settings) as db:
        rows = db.fetch_all(
            "SELECT expires_at, replaces FROM opslib.api_keys"
            " WHERE name = 'lab-client-1' AND revoked_at IS NULL"
        )
    assert rows == [{"expires_at": None, "replaces": None}]
    assert _judged(settings).severity is Severity.OK
