"""``opslib db maintain`` as an operator runs it: dry run, run, JSON, audit, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from opslib.audit import AuditLog
from tests.dbkit import TestDatabase


def _opslib(
    db: TestDatabase, *argv: str, extra: dict[str, str] | None = None, as_json: bool = False
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSLIB_")}
    env["OPSLIB_DATABASE_DSN"] = db.dsn
    env.update(extra or {})
    return subprocess.run(
        (
            sys.executable,
            "-m",
            "opslib.cli",
            *(["--json"] if as_json else []),
            "db",
            "maintain",
            *argv,
        ),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_dry_run_then_run(seeded: TestDatabase) -> None:
    dry = _opslib(seeded, "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "would run VACUUM (ANALYZE, TRUNCATE false) price_history" in dry.stdout
    assert "would run ANALYZE monitored_urls" in dry.stdout
    row = seeded.fetch_one(
        "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'price_history'"
    )
    assert row == {"last_analyze": None}

    ran = _opslib(seeded)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "VACUUM (ANALYZE, TRUNCATE false) price_history: done in" in ran.stdout
    assert "after:" in ran.stdout

    again = _opslib(seeded, as_json=True)
    assert again.returncode == 0, again.stdout + again.stderr
    payload = json.loads(again.stdout)
    assert [s["state"] for s in payload["steps"]] == ["fresh", "fresh", "fresh"]
    assert payload["before"][1]["table"] == "price_history"
    audit = [(e.dry_run, e.outcome) for e in AuditLog(seeded).recent(5, "db.maintain")]
    assert audit == [(False, "ok"), (False, "ok"), (True, "ok")]


def test_an_absent_table_exits_3(seeded: TestDatabase) -> None:
    result = _opslib(seeded, extra={"OPSLIB_TABLES__PRICE_HISTORY__NAME": "gone_prices"})
    assert result.returncode == 3, result.stdout + result.stderr
    assert "VACUUM (ANALYZE, TRUNCATE false) gone_prices: failed: table gone_prices not found" in (
        result.stdout
    )
    assert "ANALYZE monitored_urls: done" in result.stdout
    assert "Traceback" not in result.stderr
