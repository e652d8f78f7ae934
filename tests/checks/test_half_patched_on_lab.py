"""checks/emergency/security's image check on the session lab: the fault ``half-patched`` (one
scraper replica recreated from a patched image) turns it red naming ``opslib security patch``;
the command it names brings the replica back to the others' image and the check to OK; heal
leaves it OK."""

from __future__ import annotations

import json

import pytest

from opslib.cli import main
from opslib.config import Settings, load_settings
from opslib.connect import open_platform
from opslib.lab import Lab
from opslib.lab._image import IMAGE
from opslib.lab._patch_fault import PATCH_TAG
from opslib.results import CheckResult, Severity
from opslib.security import check_replica_images


def _judged(settings: Settings) -> CheckResult:
    with open_platform(settings) as platform:
        return check_replica_images(platform, settings)


def test_half_patched_fires_the_advised_patch_heals_it(
    healthy_lab: Lab, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_settings(healthy_lab.config_file)
    assert _judged(settings).severity is Severity.OK
    target = healthy_lab.settings.worker_name(healthy_lab.settings.workers)
    try:
        assert PATCH_TAG in healthy_lab.inject("half-patched")
        red = _judged(settings)
        assert red.severity is Severity.CRITICAL, red.message()
        assert f"opslib security patch scraper --image {PATCH_TAG} to finish it" in (
            red.remediation
        )
        assert f"(or --image {IMAGE} to roll it back)" in red.remediation
        monkeypatch.setenv("OPSLIB_CONFIG", str(healthy_lab.config_file))
        capsys.readouterr()
        assert main(["--json", "security", "patch", "scraper", "--image", IMAGE]) == 0
        done = json.loads(capsys.readouterr().out)
        assert done["patched"] == [target]  # only the odd one out
        assert _judged(settings).severity is Severity.OK
    finally:
        healthy_lab.heal()
    assert _judged(settings).severity is Severity.OK
