"""The fast analyzer's reports equal the reference's (every feature, the suspects' ranking and
evidence) on generated logs: attacks, malformed and JSON lines, common and combined format,
several files, a --since window, a client cap."""

from __future__ import annotations

import io
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opslib.config import SecuritySettings
from opslib.security import Analysis, Analyzer, Policy, _read, analyze_security_logs, iter_chunks
from opslib.security._fast import FastAnalyzer
from opslib.security._parse import parse_chunk
from tests.security._logs import NOW, clf, seconds

_PROBES = (
    "/.env",
    "/admin",
    "/wp-login.php",
    "/static/../../etc/passwd",
    "/q?id=1%27%20or%201=1",
    "/search?q=%3Cscript%3E",
    "/download?file=backup.bak",  # plain query: judged by its bare path (not a probe)
    "?page=x.php",  # plain query, empty bare path
    "/api/v1/prices?product=1;cat",
    "/cgi-bin/test.cgi?x=${jndi:ldap}",
)


def _log(seed: int, minutes: int = 90, *, zones: bool = False) -> list[bytes]:
    """Lines over ``minutes`` before NOW: clients, keys (query and user field), attackers,
    a burst, and (with ``zones``) some stamps in another zone."""
    rng = random.Random(seed)
    clients = [f"10.0.{rng.randrange(4)}.{rng.randrange(1, 60)}" for _ in range(120)]
    keys = [f"sk_{rng.getrandbits(40):010x}" for _ in range(15)]
    agents = ["pricewatch-client/1.2", "curl/8.4.0", "Mozilla/5.0 (X11) Firefox/120.0"]
    agents += [f"bot-{i}/1.0" for i in range(10)]
    start = NOW - timedelta(minutes=minutes)
    lines = []
    for i in range(minutes * 60):
        at = start + seconds(i)
        for _ in range(rng.randrange(3)):
            ip = rng.choice(clients)
            roll = rng.random()
            user = "-"
            path = f"/api/v1/prices?product={rng.randrange(400)}"
            if roll < 0.3:
                path += f"&api_key={rng.choice(keys)}"
            elif roll < 0.35:
                user = rng.choice(keys)
            elif roll < 0.4:
                path = f"/p/{rng.randrange(300)}"
            status = rng.choice((200, 200, 200, 304, 404, 500, 401, 403, 429))
            agent = agents[hash(ip) % len(agents)] if rng.random() < 0.9 else rng.choice(agents)
            lines.append(clf(ip, path, status, at=at, user=user, agent=agent))
        if i % 7 == 0:
            lines.append(clf("10.66.0.1", "/login", 401, at=at, agent="Mozilla/4.0 (Hydra)"))
        if i % 11 == 0:
            probe = _PROBES[i // 11 % len(_PROBES)]
            status = 200 if probe in ("/admin", "/.env") else 404
            lines.append(clf("10.77.0.1", probe, status, at=at, agent="sqlmap/1.7.2#stable"))
        if i < 300:  # a crawler: 300 distinct paths, past the 256 kept
            lines.append(clf("10.55.0.1", f"/catalog/{i}/item", 200, at=at, agent="crawl/2"))
        if i % 13 == 0:
            lines.append(clf(f"10.88.0.{i % 5}", f"/x/{i}?token=t{i % 3}", 403, at=at))
        if minutes * 60 // 2 <= i < minutes * 60 // 2 + 40:
            lines.extend(clf("10.99.0.9", f"/api/v1/prices?product={j}", at=at) for j in range(5))
        if zones and i % 17 == 0:
            stamp = (at + timedelta(hours=1)).strftime("%d/%b/%Y:%H:%M:%S +0100")
            lines.append(f'10.5.5.5 - - [{stamp}] "GET /z HTTP/1.1" 200 5 "-" "z/1"\n'.encode())
    return lines


def _irregular(seed: int) -> list[bytes]:
    """Common-format lines, garbage, JSON lines and an escaped quote."""
    rng = random.Random(seed)
    out = []
    for i in range(300):
        at = NOW - timedelta(minutes=30) + seconds(i * 5)
        kind = rng.randrange(5)
        if kind == 0:
            out.append(clf(f"10.1.0.{i % 9}", "/admin", 404, at=at, agent=None))
        elif kind == 1:
            out.append(b"garbage line \x00\xff not a log\n")
        elif kind == 2:
            record = {
                "remote_addr": f"10.2.0.{i % 7}",
                "time": at.isoformat(),
                "status": 401 if i % 2 else 200,
                "request": f"GET /api/v1/prices?api_key=sk_json{i % 4} HTTP/1.1",
                "user_agent": "json-client/1.0",
            }
            out.append(json.dumps(record).encode() + b"\n")
        elif kind == 3:
            out.append(
                f'10.3.0.{i % 4} - - [{at:%d/%b/%Y:%H:%M:%S} +0000] "GET /a\\"b HTTP/1.1"'
                f' 200 5 "-" "x \\"quoted\\" agent"\n'.encode()
            )
        else:
            out.append(clf(f"10.1.0.{i % 9}", f"/p?key=k{i % 3}", 200, at=at, user="-"))
    return out


def _both(chunks: list[bytes], **kwargs: int | None) -> tuple[Analysis, Analysis, int]:
    """The reference's and the fast analyzer's results, and how many chunks went fast."""
    reference, fast = Analyzer(**kwargs), FastAnalyzer(**kwargs)  # type: ignore[arg-type]
    taken = 0
    for chunk in chunks:
        reference.feed_chunk(chunk)
        if fast._fast(chunk):  # what FastAnalyzer.feed_chunk does, counted
            taken += 1
        else:
            fast.feed(*parse_chunk(chunk))
    policy = Policy(rate=0.5, min_requests=10)
    return reference.result(policy), fast.result(policy), taken


def _chunks(data: bytes, size: int) -> list[bytes]:
    return list(iter_chunks(io.BytesIO(data), size))


def _same(reference: Analysis, fast: Analysis) -> None:
    assert fast.as_dict(limit=1_000_000) == reference.as_dict(limit=1_000_000)
    assert fast == reference  # every client's and key's every field, suspects in order


@pytest.mark.parametrize(("seed", "size"), [(1, 4096), (2, 64 * 1024), (3, 1 << 20)])
def test_equal_on_combined_format_with_attacks(seed: int, size: int) -> None:
    chunks = _chunks(b"".join(_log(seed)), size)
    reference, fast, taken = _both(chunks)
    _same(reference, fast)
    assert taken == len(chunks)  # every chunk went the fast way
    suspects = [s.client for s in reference.suspects]
    assert {"10.66.0.1", "10.77.0.1", "10.99.0.9"} <= set(suspects)
    probe = reference.client("10.77.0.1")
    assert probe is not None
    assert probe.unusual_paths > 0
    assert probe.sensitive_successes > 0
    assert reference.keys
    assert all(k.related for k in reference.keys)
    crawler = reference.client("10.55.0.1")
    assert crawler is not None
    assert crawler.distinct_paths_capped


def test_equal_with_irregular_chunks_between_regular_ones() -> None:
    """Chunks with common-format, garbage, JSON and escaped-quote lines take the reference's
    way in both; the regular chunks around them the fast way; the totals are the same."""
    regular = _log(4, minutes=40)
    odd = _irregular(5)
    lines = regular[:2000] + odd + regular[2000:]
    chunks = _chunks(b"".join(lines), 8192)
    reference, fast, taken = _both(chunks)
    _same(reference, fast)
    assert 0 < taken < len(chunks)
    assert reference.skipped > 0
    assert reference.client("10.2.0.1") is not None  # from JSON lines


def test_equal_with_stamps_in_two_zones() -> None:
    chunks = _chunks(b"".join(_log(6, minutes=30, zones=True)), 16384)
    reference, fast, taken = _both(chunks)
    _same(reference, fast)
    assert taken == len(chunks)
    assert reference.client("10.5.5.5") is not None


def test_equal_with_a_client_cap() -> None:
    """Past ``max_clients`` IPs and keys are counted together in both, the same way."""
    chunks = _chunks(b"".join(_log(7, minutes=20)), 4096)
    reference, fast, taken = _both(chunks, max_clients=10)
    _same(reference, fast)
    assert reference.clients_dropped > 0
    assert len(reference.keys) == 10
    assert taken == len(chunks)


def test_analyze_several_files_with_a_window_equals_the_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``analyze_security_logs`` (what ``opslib security analyze`` runs) over several files and
    stdin, ``--since 1h`` of 3 hours: the fast analyzer's report equals the reference's."""
    files = []
    for n, lines in enumerate((_log(8, minutes=180), _log(9, minutes=60) + _irregular(10))):
        path = tmp_path / f"access{n}.log"
        path.write_bytes(b"".join(lines))
        files.append(path)
    stdin = b"".join(_log(11, minutes=30))

    def analyse() -> Analysis:
        return analyze_security_logs(
            SecuritySettings(),
            Policy(rate=0.5, min_requests=10),
            files=files,
            streams=[("stdin", io.BytesIO(stdin))],
            since="1h",
            now=NOW,
        )

    assert vars(_read)["FastAnalyzer"] is FastAnalyzer  # the command's analyzer
    fast = analyse()
    monkeypatch.setattr(_read, "FastAnalyzer", Analyzer)  # the reference
    reference = analyse()
    _same(reference, fast)
    assert reference.parsed < reference.lines  # older lines and garbage left out
    assert reference.start is not None
    assert reference.start >= datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    assert "10.77.0.1" in [s.client for s in reference.suspects]
