"""Attacks spread thin, from an access log: credential stuffing (60 addresses, each failing
once or twice) and a leaked key (one valid key from 40 addresses) pass the per-source check and
turn the spread checks red naming the block and the revoke; blocked, they are green."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from opslib.config import Settings
from opslib.results import Severity
from opslib.security import (
    AddressSet,
    ApiKey,
    analyze_security_logs,
    check_access_patterns,
    check_auth_spread,
    check_key_spread,
    fingerprint,
    key_names,
    parse_network,
    policy_for,
    stuffing_networks,
)
from tests.security._logs import NOW, clf, seconds


def _log(tmp_path: Path) -> Path:
    lines = []
    for i in range(60):  # normal clients, each with its own key, once a second
        for n in range(5):
            lines.append(clf(f"10.0.2.{n + 1}", at=NOW + seconds(i), user=f"client-{n + 1}"))
    for n in range(60):  # credential stuffing: each address once, made-up keys and logins
        at = NOW + seconds(n % 60)
        if n % 2:
            lines.append(clf(f"10.4.4.{n + 1}", "/login", 401, at=at, method="POST"))
        else:
            lines.append(clf(f"10.4.4.{n + 1}", status=401, at=at, user=fingerprint(f"x{n}")))
    for i in range(60):  # the leaked key, from 40 new addresses
        for n in range(0, 40, 2):
            lines.append(clf(f"10.5.5.{n + 1 + i % 2}", at=NOW + seconds(i), user="partner"))
    path = tmp_path / "access.log"
    path.write_bytes(b"".join(lines))
    return path


def _key(name: str, prefix: str) -> ApiKey:
    now = datetime.now(UTC)
    return ApiKey(id=1, name=name, prefix=prefix, actor="carol", created_at=now,
                  expires_at=None, revoked_at=None, revoked_by=None, reason=None,
                  replaces=None)  # fmt: skip


def test_spread_attacks_pass_per_source_and_fail_the_spread_checks(tmp_path: Path) -> None:
    settings = Settings()
    analysis = analyze_security_logs(
        settings.security, policy_for(settings), files=[_log(tmp_path)], since="1h",
        now=NOW + seconds(60),
    )  # fmt: skip
    nothing = AddressSet.of([])
    assert check_access_patterns(analysis, nothing, settings).severity is Severity.OK
    stuffing = check_auth_spread(analysis, nothing, settings)
    assert stuffing.severity is Severity.CRITICAL
    assert stuffing.measurements[0].value == 60
    assert "opslib security block 10.4.4.0/24 --for 24h" in stuffing.remediation
    names = key_names([_key("partner", "AbCdEf1234"), _key("client-1", "ZzZzZz9999")])
    leak = check_key_spread(analysis, nothing, settings, names)
    assert leak.severity is Severity.CRITICAL
    assert leak.measurements[0].subject == "partner"
    assert leak.measurements[0].value == 40
    assert "opslib keys revoke partner --reason 'leaked: used from 40 addresses'" in (
        leak.remediation
    )
    assert "opslib security block 10.5.5.0/24" in leak.remediation
    assert all(m.value == 1 for m in leak.measurements[1:])  # the normal keys: one address each
    unnamed = check_key_spread(analysis, nothing, settings)
    assert f"key {fingerprint('partner')}" in unnamed.remediation
    blocked = AddressSet.of([parse_network("10.4.4.0/24"), parse_network("10.5.5.0/24")])
    assert check_auth_spread(analysis, blocked, settings).severity is Severity.OK
    assert check_key_spread(analysis, blocked, settings, names).severity is Severity.OK


def test_ranges_need_three_sources() -> None:
    found = stuffing_networks(["10.1.1.1", "10.1.1.2", "10.1.1.3", "10.2.2.2", "fe80::1", "x"])
    assert found == [("10.1.1.0/24", 3)]
