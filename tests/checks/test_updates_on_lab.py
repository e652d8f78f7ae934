"""`pytest checks/monthly/test_security_updates.py` against the live lab: green when healthy
(the workers' image built here hours ago, a fresh certificate on the lab's TLS endpoint), red
on the fault cert-expiring naming the days left and the action, green once healed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from opslib.cli import main
from opslib.lab import Lab
from opslib.lab._containers import docker_reachable
from opslib.lab._tls import EXPIRING_DAYS
from tests.support import poll_until

ROOT = Path(__file__).resolve().parents[2]


def _suite(lab: Lab, only: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPSLIB_CONFIG": str(lab.config_file)}
    checks = str(ROOT / "checks" / "monthly" / "test_security_updates.py") + only
    argv = [sys.executable, "-m", "pytest", checks, "-p", "no:cacheprovider", "-q"]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, cwd=ROOT,
                          check=False)  # fmt: skip


def test_cert_expiring_fires_and_heals(
    healthy_lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    lab = healthy_lab
    if docker_reachable():  # the workers are containers: their image is judged too
        green = _suite(lab)
        assert green.returncode == 0, green.stdout[-3000:]
        # an image older than updates.image_age (a long-lived engine's) warns: exit 1
        assert main(["--config", str(lab.config_file), "updates", "check"]) in (0, 1)
        assert "image_age[scraper] = " in capsys.readouterr().out
    certificates = "::test_certificates_valid"
    green = _suite(lab, certificates)
    assert green.returncode == 0, green.stdout[-3000:]
    lab.inject("cert-expiring")
    red = poll_until(lambda: _suite(lab, certificates), lambda r: r.returncode != 0, 30)
    assert red.returncode != 0, red.stdout[-3000:]
    assert "CRITICAL: cert_days[127.0.0.1:" in red.stdout
    assert (
        f"= {EXPIRING_DAYS} days" in red.stdout or f"= {EXPIRING_DAYS - 0.1:g} days" in red.stdout
    )
    assert "certbot renew" in red.stdout
    assert main(["--config", str(lab.config_file), "updates", "check"]) in (2, 3)
    assert "CRITICAL: cert_days" in capsys.readouterr().out
    lab.heal("cert-expiring")
    healed = poll_until(lambda: _suite(lab, certificates), lambda r: r.returncode == 0, 30)
    assert healed.returncode == 0, healed.stdout[-3000:]
