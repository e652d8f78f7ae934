"""The lab's API under the brute-force and scan faults: each is found by the emergency.security
checks naming the block command, contained by `opslib security block` (the API refuses the
attacker within security.cache_seconds; the checks go green), normal clients served all along,
and the attack traffic stopped by heal."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from opslib.cli import main
from opslib.config import load_settings
from opslib.lab import Lab
from opslib.lab._api import ATTACKERS, NORMAL_CLIENTS, access_log
from opslib.results import Severity
from opslib.security import (
    Blocklist,
    blocked_still_served,
    check_access_patterns,
    recent_analysis,
    sensitive_requests,
)


def _lines_since(lab: Lab, at: float) -> list[tuple[str, int]]:
    """(source, status) of the access log lines written after ``at`` (epoch seconds)."""
    found = []
    for line in access_log(lab.paths.root).read_text(errors="replace").splitlines():
        parts = line.split(" ")
        stamp = datetime.strptime(parts[3][1:], "%d/%b/%Y:%H:%M:%S").replace(tzinfo=UTC)
        if stamp.timestamp() >= int(at):
            found.append((parts[0], int(line.split('" ')[1].split(" ")[0])))
    return found


@pytest.mark.parametrize("fault", ["brute-force", "scan"])
def test_attack_found_contained_and_normal_clients_served(
    healthy_lab: Lab, fault: str, capsys: pytest.CaptureFixture[str]
) -> None:
    lab = healthy_lab
    settings = load_settings(lab.config_file)
    attacker = ATTACKERS[fault]
    started = time.time()
    assert attacker in lab.inject(fault)
    time.sleep(6)
    analysis = recent_analysis(settings)
    with lab.database() as db:
        blocklist = Blocklist(db, settings.security)
        if fault == "brute-force":
            result = check_access_patterns(analysis, blocklist.networks(), settings)
        else:
            result = sensitive_requests(analysis, blocklist.networks(), settings)
        assert result.severity is Severity.CRITICAL, result.message()
        assert f"opslib security block {attacker}" in result.remediation
        assert analysis.suspects[0].client == attacker

        code = main(["--config", str(lab.config_file), "security", "block", attacker,
                     "--for", "1h", "--reason", f"lab {fault}"])  # fmt: skip
        assert code == 0, capsys.readouterr()
        blocked_at = time.time()
        time.sleep(settings.security.cache_seconds + 3)
        since = blocked_at + settings.security.cache_seconds + 1
        refused = [s for ip, s in _lines_since(lab, since) if ip == attacker]
        assert refused, "the attack kept going"
        assert set(refused) == {403}
        analysis = recent_analysis(settings)
        entries = blocklist.entries()
        held = blocked_still_served(analysis, entries, blocklist.now(), settings)
        assert held.severity is Severity.OK, held.message()
        for check in (  # the other attack may still be in the window: judge this one only
            check_access_patterns(analysis, blocklist.networks(), settings),
            sensitive_requests(analysis, blocklist.networks(), settings),
        ):
            assert all(m.subject != attacker for m in check.problems), check.message()
        assert main(["--config", str(lab.config_file), "security", "unblock", attacker]) == 0
    served = [s for ip, s in _lines_since(lab, started) if ip in NORMAL_CLIENTS]
    assert len(served) > 5 * 5
    assert set(served) == {200}
    lab.heal(fault)
    time.sleep(1)
    healed = time.time()
    time.sleep(2)
    assert not [ip for ip, _s in _lines_since(lab, healed) if ip == attacker]
