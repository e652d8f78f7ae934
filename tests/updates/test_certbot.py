"""certbot renew's output judged: renewed, not due, failed."""

from __future__ import annotations

import pytest

from opslib.updates import judge_certbot, run_certbot

RENEWED = """Processing /etc/letsencrypt/renewal/shop.conf
Renewing an existing certificate for shop.example
Congratulations, all renewals succeeded:
  /etc/letsencrypt/live/shop.example/fullchain.pem (success)"""
NOT_DUE = """Processing /etc/letsencrypt/renewal/shop.conf
Certificate not yet due for renewal
The following certificates are not due for renewal yet:
  /etc/letsencrypt/live/shop.example/fullchain.pem expires on 2027-02-01 (skipped)
No renewals were attempted."""
FAILED = """Failed to renew certificate shop.example with error: Connection refused
All renewals failed. The following certificates could not be renewed:
  /etc/letsencrypt/live/shop.example/fullchain.pem (failure)
1 renew failure(s), 0 parse failure(s)"""


@pytest.mark.parametrize(
    ("code", "output", "state"),
    [(0, RENEWED, "renewed"), (0, NOT_DUE, "not due"), (1, FAILED, "failed"),
     (0, "something else", "failed"), (2, "", "failed")],
)  # fmt: skip
def test_judged(code: int, output: str, state: str) -> None:
    assert judge_certbot(code, output).state == state


def test_renewed_names_the_certificates() -> None:
    assert judge_certbot(0, RENEWED).detail == (
        "/etc/letsencrypt/live/shop.example/fullchain.pem (success)"
    )


def test_failure_names_the_error() -> None:
    assert "Connection refused" in judge_certbot(1, FAILED).detail


def test_missing_command_is_failed_in_one_line() -> None:
    outcome = run_certbot(["/nonexistent/certbot", "renew"], timeout=5)
    assert outcome.state == "failed"
    assert outcome.detail == "cannot run /nonexistent/certbot: No such file or directory"


def test_hanging_command_times_out() -> None:
    outcome = run_certbot(["/usr/bin/sleep", "5"], timeout=0.3)
    assert outcome == outcome.__class__("failed", "no end within 0.3 s")
