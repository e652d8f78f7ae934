"""PytestSuite: a run that hangs is stopped at its timeout and judged as having judged nothing."""

from __future__ import annotations

import time
from pathlib import Path

from opslib.watch import PytestSuite


def test_a_hanging_run_is_stopped_at_its_timeout(tmp_path: Path) -> None:
    (tmp_path / "test_hangs.py").write_text(
        "import time\n\ndef test_hangs():\n    time.sleep(60)\n"
    )
    started = time.monotonic()
    snapshot = PytestSuite(tmp_path, timeout=3).run()
    assert time.monotonic() - started < 20
    assert snapshot.error == "the run did not finish within 3 s (--run-timeout): stopped"
