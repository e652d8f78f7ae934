"""Every command with bad input: exit status 2 and one line, never a traceback; a dependency
that cannot be reached is 3. Each case runs the real ``opslib`` command in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.dbkit import TestDatabase
from tests.support import free_port

BAD_INPUT = 2
UNREACHABLE = 3

# (id, argv, environment overrides); "{tmp}" is a fresh directory, "{db}" the test database.
CASES: list[tuple[str, list[str], dict[str, str], int]] = [
    ("config file missing", ["--config", "{tmp}/none.toml", "db", "status"], {}, BAD_INPUT),
    ("config not toml", ["--config", "{tmp}/broken.toml", "db", "status"], {}, BAD_INPUT),
    ("setting not json", ["db", "status"], {"OPSLIB_TIMEOUTS": "not json"}, BAD_INPUT),
    ("setting out of range", ["db", "status"], {"OPSLIB_TIMEOUTS__HTTP": "-1"}, BAD_INPUT),
    ("unknown option", ["db", "migrate", "--bogus"], {}, BAD_INPUT),
    ("unknown command", ["backups"], {}, BAD_INPUT),
    ("list file missing", ["proxies", "update", "{tmp}/none.txt"], {}, BAD_INPUT),
    ("list is a directory", ["proxies", "update", "{tmp}"], {}, BAD_INPUT),
    ("list url malformed", ["proxies", "update", "http://u:pw@[bad/x"], {}, BAD_INPUT),
    ("rotate bad count", ["proxies", "rotate", "--ban-domains", "-1"], {}, BAD_INPUT),
    ("policy bad country", ["proxies", "config", "a.test", "--country", "xyz"], {}, BAD_INPUT),
    ("policy bad concurrency", ["proxies", "config", "a.test", "--max-concurrency", "0"], {},
     BAD_INPUT),
    ("policy bad status", ["proxies", "config", "a.test", "--ban-status", "99"], {}, BAD_INPUT),
    ("verify unknown backup", ["backup", "verify", "no-such-backup"], {}, BAD_INPUT),
    ("integrity unknown backup", ["backup", "integrity", "no-such-backup"], {}, BAD_INPUT),
    ("inject unknown fault", ["lab", "inject", "no-such-fault"], {}, BAD_INPUT),
    ("lab bad state dir", ["lab", "status", "--state-dir", "{tmp}/broken.toml"], {}, BAD_INPUT),
    ("no database", ["proxies", "list"], {"OPSLIB_DATABASE_DSN": ""}, BAD_INPUT),
    ("database unreachable", ["proxies", "list"], {"OPSLIB_DATABASE_DSN": "{closed}"},
     UNREACHABLE),
    ("database unreachable (migrate)", ["db", "status"], {"OPSLIB_DATABASE_DSN": "{closed}"},
     UNREACHABLE),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "env", "status"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_bad_input_is_one_line_and_its_status(
    argv: list[str], env: dict[str, str], status: int, platform_db: TestDatabase, tmp_path: Path
) -> None:
    (tmp_path / "broken.toml").write_text("this is = = not toml\n")
    closed = f"host=127.0.0.1 port={free_port()} dbname=x user=u password=NotShown123"
    values = {"tmp": str(tmp_path), "db": platform_db.dsn, "closed": closed}
    base = {k: v for k, v in os.environ.items() if not k.startswith("OPSLIB_")}
    base["OPSLIB_DATABASE_DSN"] = platform_db.dsn
    base["OPSLIB_BACKUPS__BACKUP_DIR"] = str(tmp_path)
    base["OPSLIB_TIMEOUTS__CONNECT"] = "1"
    for key, value in env.items():
        if value:
            base[key] = value.format(**values)
        else:
            base.pop(key, None)
    done = subprocess.run(
        [sys.executable, "-m", "opslib.cli", *(a.format(**values) for a in argv)],
        env=base, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == status, done.stderr
    assert "Traceback" not in done.stderr
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert lines, "no message at all"
    # One line, or click's usage block (usage, a hint, and its one error line).
    errors = [ln for ln in lines if ln.startswith(("opslib: error", "Error:"))]
    assert len(errors) == 1, done.stderr
    assert "NotShown123" not in done.stderr + done.stdout
    assert platform_db.dsn.split("password=")[-1].split()[0] not in done.stderr
