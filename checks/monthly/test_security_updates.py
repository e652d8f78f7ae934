"""monthly.security_updates: Monthly Maintenance 1 (update images, renew certificates).

Each service's image: its age, and whether a newer image with the same tag exists (here, or
in the registry when the image came from one and it answers); the days left on the TLS
certificate of each ``updates.endpoints`` entry. ``opslib updates apply`` is the action.
"""

from __future__ import annotations

import pytest

from opslib.config import Settings
from opslib.errors import OpsError
from opslib.pytest_plugin import Verdict
from opslib.results import CheckResult
from opslib.updates import (
    Endpoint,
    fetch_certificates,
    judge_certificates,
    judge_images,
    service_images,
)
from opslib.updates._certs import now_utc
from opslib.updates._check import SOP

pytestmark = pytest.mark.sop("monthly.security_updates")


def test_images_current(
    request: pytest.FixtureRequest, ops_settings: Settings, ops_verdict: Verdict
) -> None:
    """No service runs an image older than updates.image_age or older than its tag's."""
    try:
        platform = request.getfixturevalue("ops_platform")
        images = service_images(platform, ask_registry=ops_settings.updates.check_registry)
    except OpsError as exc:
        ops_verdict(CheckResult.unknown(SOP, "images of the compose project are current", str(exc)))
        return
    ops_verdict(judge_images(images, ops_settings, now_utc()))


def test_certificates_valid(ops_settings: Settings, ops_verdict: Verdict) -> None:
    """Every updates.endpoints certificate verifies and has more than updates.cert_days left."""
    settings = ops_settings.updates
    endpoints = [Endpoint.parse(e) for e in settings.endpoints]
    timeout = settings.timeout or ops_settings.timeouts.connect
    found = fetch_certificates(endpoints, timeout=timeout, ca_file=settings.ca_file)
    ops_verdict(judge_certificates(found, ops_settings, now_utc()))
