from __future__ import annotations

import pytest

from opslib.adapters import Database
from opslib.audit import AuditLog
from opslib.errors import UnsafeActionError


def test_action_records_ok_with_detail_and_masks_secrets(db: Database) -> None:
    log = AuditLog(db, actor="tester")
    with log.action(
        "proxies.update", {"source": "http://u:pw1234@127.0.0.1/list"}, dry_run=True
    ) as out:
        out.detail = "added 3"
    entry = log.recent(1, action="proxies.update")[0]
    assert (entry.actor, entry.outcome, entry.dry_run, entry.detail) == (
        "tester",
        "ok",
        True,
        "added 3",
    )
    assert entry.arguments == {"source": "http://u:***@127.0.0.1/list"}


def test_refused_and_failed_actions_are_recorded_and_reraised(db: Database) -> None:
    log = AuditLog(db, actor="tester")
    with pytest.raises(UnsafeActionError), log.action("backup.prune", {}, dry_run=False):
        raise UnsafeActionError("would delete the last verified backup")
    with pytest.raises(RuntimeError), log.action("backup.prune", {"n": 1}, dry_run=False):
        raise RuntimeError("disk gone")
    outcomes = [(e.outcome, e.detail) for e in log.recent(2, action="backup.prune")]
    assert outcomes == [
        ("failed", "disk gone"),
        ("refused", "would delete the last verified backup"),
    ]
