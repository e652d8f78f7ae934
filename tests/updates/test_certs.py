"""opslib.updates certificates against real TLS servers on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest

from opslib.config import Settings, UpdateSettings
from opslib.errors import InputError
from opslib.results import Severity
from opslib.updates import Endpoint, fetch_certificate, fetch_certificates, judge_certificates
from opslib.updates._certs import now_utc
from tests.updates.conftest import TlsServer


def _judge(endpoints: list[str], ca_file: Path, timeout: float = 1.0) -> tuple[Severity, str]:
    settings = Settings(updates=UpdateSettings(endpoints=endpoints, ca_file=ca_file))
    found = fetch_certificates(
        [Endpoint.parse(e) for e in endpoints], timeout=timeout, ca_file=ca_file
    )
    result = judge_certificates(found, settings, now_utc())
    return result.severity, result.message()


def test_valid_certificate_is_ok(valid: TlsServer, ca_file: Path) -> None:
    info = fetch_certificate(Endpoint.parse(valid.endpoint), timeout=2, ca_file=ca_file)
    assert info.not_after == valid.not_after
    assert info.verify_error == ""
    days = info.days_left(now_utc())
    assert days is not None
    assert 89.5 < days <= 90
    assert _judge([valid.endpoint], ca_file)[0] is Severity.OK


def test_days_to_expiry_judged(expiring: TlsServer, soon: TlsServer, ca_file: Path) -> None:
    severity, message = _judge([expiring.endpoint], ca_file)
    assert severity is Severity.CRITICAL
    assert f"cert_days[{expiring.endpoint}] = 3" in message or "= 2.9" in message
    assert "crit < 7 days" in message
    assert _judge([soon.endpoint], ca_file)[0] is Severity.WARNING


def test_expired_is_critical_with_negative_days(expired: TlsServer, ca_file: Path) -> None:
    severity, message = _judge([expired.endpoint], ca_file)
    assert severity is Severity.CRITICAL
    assert "= -2" in message
    assert "certificate has expired" in message


def test_wrong_name_is_critical(wrong_name: TlsServer, ca_file: Path) -> None:
    severity, message = _judge([wrong_name.endpoint], ca_file)
    assert severity is Severity.CRITICAL
    assert "cert_not_verified" in message
    assert "mismatch" in message.lower()


def test_untrusted_issuer_is_critical(valid: TlsServer) -> None:
    info = fetch_certificate(Endpoint.parse(valid.endpoint), timeout=2)
    assert info.not_after == valid.not_after
    assert "unable to get local issuer certificate" in info.verify_error


def test_refused_port_is_unknown_in_one_line(refused_port: int, ca_file: Path) -> None:
    severity, message = _judge([f"127.0.0.1:{refused_port}"], ca_file)
    assert severity is Severity.UNKNOWN
    (line,) = [ln for ln in message.splitlines() if "cert_days" in ln]
    assert line.strip() == (
        f"UNKNOWN: cert_days[127.0.0.1:{refused_port}] = not measured"
        " (warn < 21 days, crit < 7 days): connection refused"
    )
    assert "next: make the endpoint answer TLS" in message


def test_silent_port_is_unknown_within_the_timeout(silent_port: int, ca_file: Path) -> None:
    severity, message = _judge([f"127.0.0.1:{silent_port}"], ca_file, timeout=0.5)
    assert severity is Severity.UNKNOWN
    assert "no TLS handshake within 0.5 s" in message
    assert "days = " not in message.replace("cert_days[", "")


def test_one_bad_endpoint_does_not_hide_the_others(
    valid: TlsServer, expiring: TlsServer, refused_port: int, ca_file: Path
) -> None:
    severity, message = _judge(
        [valid.endpoint, f"https://127.0.0.1:{expiring.port}/", f"127.0.0.1:{refused_port}"],
        ca_file,
    )
    assert severity is Severity.CRITICAL
    assert "connection refused" in message
    assert expiring.endpoint in message


def test_no_endpoints_is_unknown() -> None:
    result = judge_certificates([], Settings(), now_utc())
    assert result.severity is Severity.UNKNOWN
    assert "updates.endpoints" in result.message()


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("shop.test:8443", "shop.test:8443"),
        ("https://shop.test/path", "shop.test:443"),
        ("https://[::1]:9443", "[::1]:9443"),
    ],
)
def test_endpoint_forms(text: str, shown: str) -> None:
    assert str(Endpoint.parse(text)) == shown


@pytest.mark.parametrize("text", ["shop.test", "http://shop.test", "shop.test:99999", ""])
def test_bad_endpoints_refused(text: str) -> None:
    with pytest.raises(InputError):
        Endpoint.parse(text)
