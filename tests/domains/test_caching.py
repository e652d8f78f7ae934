"""``opslib domains caching D on|off``: a new strategy version with conditional requests,
the rest of the strategy kept, a dry run that changes nothing, the audit log."""

from __future__ import annotations

from pathlib import Path

import pytest

from opslib.audit import AuditLog
from opslib.cli import main
from opslib.config import DomainControlSettings
from opslib.domains import DomainControls, Strategy
from tests.dbkit import TestDatabase
from tests.support import without_opslib_environment


def test_caching_on_keeps_the_strategy_and_off_undoes_it(
    platform_db: TestDatabase,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    without_opslib_environment(monkeypatch)
    monkeypatch.setenv("OPSLIB_DATABASE_DSN", platform_db.dsn)
    monkeypatch.chdir(tmp_path)
    with platform_db.open() as db:
        controls = DomainControls(db, DomainControlSettings(cache_seconds=0))
        controls.set_strategy("a.test", Strategy(retries=3), actor="carol")
        assert main(["domains", "caching", "a.test", "on", "--dry-run"]) == 0
        assert "would set caching on for a.test" in capsys.readouterr().out
        assert not controls.strategy("a.test").conditional_requests
        assert main(["domains", "caching", "a.test", "on"]) == 0
        strategy = controls.strategy("a.test")
        assert (strategy.conditional_requests, strategy.retries) == (True, 3)
        assert controls.strategy_version("a.test") == 2
        assert main(["domains", "caching", "a.test", "on"]) == 0
        assert "already" in capsys.readouterr().out
        assert main(["domains", "caching", "a.test", "off"]) == 0
        assert not controls.strategy("a.test").conditional_requests
    entries = AuditLog(platform_db).recent(action="domains.caching")
    assert [(e.dry_run, e.outcome) for e in entries] == [(False, "ok")] * 3 + [(True, "ok")]
