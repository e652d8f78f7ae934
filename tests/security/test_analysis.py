"""Features per client and per key, suspects ranked with evidence and the action."""

from __future__ import annotations

import io
import tracemalloc
from datetime import timedelta
from pathlib import Path

import pytest

from opslib.config import SecuritySettings
from opslib.security import (
    Analysis,
    Analyzer,
    Policy,
    analyze_security_logs,
    db_auth_failures,
    fingerprint,
    is_unusual_path,
)
from opslib.security._analysis import epoch_minute
from opslib.security._read import window_start
from tests.security._logs import NOW, clf, seconds


def _analyse(data: bytes, rate: float = 5.0) -> Analysis:
    analyzer = Analyzer()
    analyzer.feed_chunk(data)
    return analyzer.result(Policy(rate=rate))


def _mixed() -> bytes:
    lines = []
    for i in range(600):  # 10 minutes of traffic
        at = NOW + seconds(i)
        lines.append(clf(f"10.0.1.{i % 20}", f"/api/v1/prices?product={i}", at=at))
        if i % 2 == 0:
            lines.append(clf("10.6.6.6", "/login", 401, at=at, agent="Mozilla/4.0 (Hydra)"))
        if i % 10 == 0:
            probe = ("/.env", "/admin", "/../../etc/passwd", "/q?id=1%27%20or%201=1")[i // 10 % 4]
            lines.append(clf("10.7.7.7", probe, 200 if probe == "/admin" else 404, at=at))
    return b"".join(lines)


def test_features_and_ranking() -> None:
    analyzer = Analyzer()
    analyzer.feed_chunk(_mixed())
    analysis = analyzer.result(Policy())
    assert analysis.lines == analysis.parsed == 600 + 300 + 60
    brute = analysis.client("10.6.6.6")
    assert brute is not None
    assert brute.auth_failures == 300
    assert brute.errors == 300
    assert brute.distinct_paths == 1
    assert brute.auth_failures_per_minute == 30.0
    assert brute.tool_agents == 1
    scan = analysis.client("10.7.7.7")
    assert scan is not None
    assert scan.unusual_paths == 60
    assert scan.sensitive_successes == 15
    assert "/.env" in scan.samples
    normal = analysis.client("10.0.1.3")
    assert normal is not None
    assert normal.score == 0
    assert normal.requests == 30
    ranked = [s.client for s in analysis.suspects]
    assert set(ranked[:2]) == {"10.6.6.6", "10.7.7.7"}
    assert not any(c.startswith("10.0.1.") for c in ranked)
    assert brute.action.startswith("opslib security block 10.6.6.6 --for 24h --reason ")
    assert any("authentication failures" in r for r in brute.reasons)


def test_bursts_are_judged_against_the_clients_own_baseline() -> None:
    lines = [clf("10.0.0.9", at=NOW + timedelta(minutes=m)) for m in range(30)]
    lines += [clf("10.0.0.9", at=NOW + timedelta(minutes=30, seconds=i % 60)) for i in range(200)]
    analysis = _analyse(b"".join(lines), rate=1000.0)
    client = analysis.client("10.0.0.9")
    assert client is not None
    assert client.peak_per_minute == 200
    assert client.baseline_per_minute < 2
    assert any("burst" in r for r in client.reasons)


def test_keys_are_fingerprinted_never_shown() -> None:
    secret = "sk_live_abcdefghijklmnop"
    data = b"".join(
        [clf("10.0.0.1", f"/api?api_key={secret}", 401, at=NOW + seconds(i)) for i in range(50)]
        + [clf("10.0.0.2", "/api", 200, user=secret, at=NOW + seconds(i)) for i in range(5)]
    )
    analysis = _analyse(data)
    fp = fingerprint(secret)
    assert fp.startswith("k:")
    assert len(fp) == 12
    assert fingerprint(fp) == fp
    key = next(k for k in analysis.keys)
    assert key.client == fp
    assert key.requests == 55
    assert key.auth_failures == 50
    assert set(key.related) == {"10.0.0.1", "10.0.0.2"}
    assert key.peak_per_minute == 0  # bursts are judged per address
    assert secret not in repr(analysis.as_dict())


def test_the_window_drops_older_lines() -> None:
    old = clf("10.0.0.1", at=NOW - timedelta(hours=2))
    new = clf("10.0.0.2", at=NOW - timedelta(minutes=5))
    analysis = analyze_security_logs(
        SecuritySettings(),
        Policy(),
        streams=[("stdin", io.BytesIO(old + new))],
        since="1h",
        now=NOW,
    )
    assert analysis.lines == 2
    assert analysis.parsed == 1
    assert [c.client for c in analysis.clients] == ["10.0.0.2"]


def test_unusual_path_shapes() -> None:
    for path in ("/.env", "/wp-login.php", "/a/../../etc/passwd", "/x?q=1' OR 1=1", "/admin/"):
        assert is_unusual_path(path), path
    for path in ("/api/v1/prices?product=12", "/health", "/login"):
        assert not is_unusual_path(path), path


def test_db_authentication_failures() -> None:
    lines = [
        b"2026-12-02 10:00:01 UTC [77] app@prices 10.5.5.5(51234) FATAL:  password authentication"
        b' failed for user "app"',
        b"2026-12-02 10:00:02 UTC [78] LOG:  connection received: host=10.5.5.5 port=5",
    ]
    assert db_auth_failures(lines) == {"10.5.5.5": 1}


def test_memory_is_bounded_by_clients_not_lines() -> None:
    """The same 50 clients over ten times the lines: no more memory."""

    def peak(repeat: int) -> int:
        analyzer = Analyzer()
        tracemalloc.start()
        for r in range(repeat):
            chunk = b"".join(
                clf(f"10.0.2.{i % 50}", f"/p?x={i}", at=NOW + timedelta(minutes=r))
                for i in range(2000)
            )
            analyzer.feed_chunk(chunk)
            del chunk
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(2), peak(20)
    assert large < small * 1.5


def test_a_long_log_is_read_from_the_window_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three hours of log, the last hour asked for: the file is entered by bisection on the
    records' times, and every record of the window is still counted."""
    monkeypatch.setattr("opslib.security._read._MARGIN", 256 * 1024)
    path = tmp_path / "access.log"
    start = NOW - timedelta(hours=3)
    with path.open("wb") as fh:
        for i in range(3 * 3600 * 4):  # four lines a second
            fh.write(
                clf(f"10.0.3.{i % 50}", f"/api/v1/prices?product={i}", at=start + seconds(i / 4))
            )
    analysis = analyze_security_logs(
        SecuritySettings(), Policy(), files=[path], since="1h", now=NOW
    )
    assert analysis.parsed == 3600 * 4  # 09:00:00 to 09:59:59.75
    assert analysis.lines < 2 * 3600 * 4  # not read from the start
    with path.open("rb") as fh:
        assert window_start(fh, epoch_minute(b"02/Dec/2026:09:00", b"+0000") or 0) > 0
