"""checks/monthly/test_security_updates.py's image check on the session lab: the fault
image-outdated (a newer image under the tag the scrapers run) turns it red naming
`opslib updates apply`; heal brings it back to OK."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from opslib.lab import Lab

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "checks" / "monthly" / "test_security_updates.py"


def _images_check(lab: Lab, tmp_path: Path) -> dict[str, str]:
    html = tmp_path / "report.html"
    subprocess.run(
        [sys.executable, "-m", "pytest", f"{CHECK}::test_images_current", "-p",
         "no:cacheprovider", "--html", str(html), "--self-contained-html"],
        env={**os.environ, "OPSLIB_CONFIG": str(lab.config_file)}, cwd=tmp_path,
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    (check,) = json.loads(html.with_suffix(".json").read_text())["checks"]
    return {"severity": check["severity"], "text": json.dumps(check)}


def test_image_outdated_fires_and_heals(healthy_lab: Lab, tmp_path: Path) -> None:
    assert _images_check(healthy_lab, tmp_path)["severity"] == "OK"
    healthy_lab.inject("image-outdated")
    try:
        red = _images_check(healthy_lab, tmp_path)
        assert red["severity"] in {"WARNING", "CRITICAL"}, red
        assert "opslib updates apply" in red["text"]
        assert "names a newer local image" in red["text"]
    finally:
        healthy_lab.heal()
    assert _images_check(healthy_lab, tmp_path)["severity"] == "OK"
