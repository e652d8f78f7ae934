"""Benchmark: access-log analysis against ``awk '{print $1}' | sort | uniq -c`` on the same
generated log, its memory against the number of lines, and ``is_blocked`` on 100,000 CIDRs.

Run with ``nox -s bench`` (or ``python bench/bench_security.py [--log-mb N] [--seconds S]``).

1. Log analysis: a combined-format log of ``--log-mb`` MB (default 1024: the issue's 1 GB) is
   generated in a temporary directory (removed after): 20,000 clients (a few heavy), API paths
   with product ids, a third carrying an API key in the query, status mix, 50 user agents, and
   five attackers (brute force, scans). The awk pipeline counts requests per IP; opslib computes
   every feature (rate, errors, auth failures, distinct and probe paths, user agents, bursts,
   keys) and ranks suspects, in a fresh process (the compiled scanner, security/_scan.c, when
   the install built it: the output says which). Lines per second of both, the ratio (target
   >= 1.0x), and the analysis's peak RSS on the whole log and on a quarter of it (memory is
   bounded by clients and the chunk size, not lines: the two should be about equal).
2. ``Blocklist.is_blocked`` with 100,000 random CIDRs (IPv4 and IPv6) loaded: lookups per
   second in one process, over a pool of 10,000 client addresses (a busy API's repeat
   visitors) and over a million never-seen addresses (an IPv4 lookup converts the address
   and reads its /24's mark; IPv6 and split /24s bisect, their answers cached). Target:
   >= 1,000,000 lookups/s per process; per CPU second too, as the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from opslib.config import SecuritySettings
from opslib.security import Blocklist

TARGET_RATIO = 1.0
TARGET_LOOKUPS = 1_000_000
CIDRS = 100_000


def generate_log(path: Path, megabytes: int, seed: int = 7) -> int:
    """Write a combined-format log of about ``megabytes`` MB; return its line count."""
    rng = random.Random(seed)
    clients = [f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
               for _ in range(20_000)]  # fmt: skip
    weights = [1.0 / (i + 1) ** 0.8 for i in range(len(clients))]
    agents = [f"pricewatch-client/1.{i} (+https://example.test/{i})" for i in range(46)]
    agents += ["Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0", "curl/8.4.0", "Go-http-client/1.1",
               "python-requests/2.31.0"]  # fmt: skip
    statuses = ["200"] * 800 + ["304"] * 100 + ["404"] * 80 + ["500"] * 10 + ["429"] * 8 + ["401"]
    probes = ["/.env", "/admin", "/wp-login.php", "/static/../../etc/passwd",
              "/api/v1/prices?product=1%27%20OR%201=1--", "/.git/config"]  # fmt: skip
    attackers = ["10.66.0.1", "10.66.0.2", "10.77.0.1", "10.77.0.2", "10.77.0.3"]
    keys = [f"sk_{rng.getrandbits(64):016x}" for _ in range(2000)]
    start = int(time.time()) - 86_400
    target = megabytes * 1024 * 1024
    written = lines = 0
    with path.open("wb") as fh:
        second = start
        stamp = ""
        while written < target:
            batch = []
            ips = rng.choices(clients, weights, k=10_000)
            for n, client in enumerate(ips):
                ip = client
                if n % 100 == 0:
                    second += 1
                    stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(second))
                roll = rng.random()
                if roll < 0.01:
                    ip = attackers[n % 5]
                    path_ = "/login" if ip.startswith("10.66") else probes[n % len(probes)]
                    status = "401" if ip.startswith("10.66") else "404"
                    agent = "sqlmap/1.7.2#stable"
                else:
                    product = rng.randrange(5000)
                    key = f"&api_key={keys[n % 2000]}" if roll < 0.34 else ""
                    path_ = f"/api/v1/prices?product={product}{key}"
                    status = statuses[rng.randrange(len(statuses))]
                    agent = agents[hash(ip) % 50]
                batch.append(
                    f'{ip} - - [{stamp}] "GET {path_} HTTP/1.1" {status} {200 + n % 3000}'
                    f' "-" "{agent}"\n'
                )
            data = "".join(batch).encode()
            fh.write(data)
            written += len(data)
            lines += len(batch)
    return lines


def _awk(log: Path) -> tuple[float, float]:
    """Seconds and CPU seconds (the three processes) for awk '{print $1}' | sort | uniq -c
    (argument lists, no shell)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    begin = time.perf_counter()
    awk = subprocess.Popen(["awk", "{print $1}", str(log)], stdout=subprocess.PIPE)
    sort = subprocess.Popen(["sort"], stdin=awk.stdout, stdout=subprocess.PIPE)
    assert awk.stdout is not None
    awk.stdout.close()
    uniq = subprocess.Popen(["uniq", "-c"], stdin=sort.stdout, stdout=subprocess.DEVNULL)
    assert sort.stdout is not None
    sort.stdout.close()
    for name, proc in (("uniq", uniq), ("sort", sort), ("awk", awk)):
        if proc.wait() != 0:
            raise RuntimeError(f"{name} failed")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return time.perf_counter() - begin, cpu


_CHILD = """
import resource, sys, time
from opslib.security import Analyzer, Policy, iter_chunks
from opslib.security._fast import FastAnalyzer
limit = int(sys.argv[2])
begin = time.perf_counter()
analyzer = Analyzer() if sys.argv[3] == "reference" else FastAnalyzer()
size = getattr(analyzer, "chunk_size", 4 << 20)
read = 0
with open(sys.argv[1], "rb") as fh:
    for chunk in iter_chunks(fh, size):
        analyzer.feed_chunk(chunk)
        read += len(chunk)
        if limit and read >= limit:
            break
result = analyzer.result(Policy())
took = time.perf_counter() - begin
top = result.suspects[0].client if result.suspects else "-"
if getattr(analyzer, "compiled", False):
    top += "(compiled)"
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
cpu = time.process_time()
print(analyzer.lines, took, rss, len(result.clients), len(result.suspects), top, cpu)
why = {}
for s in result.suspects:
    for r in s.reasons:
        k = r.split(" (")[0].split(" ", 1)[-1]
        why[k] = why.get(k, 0) + 1
print(sorted(why.items(), key=lambda kv: -kv[1])[:5], file=sys.stderr)
"""


def _analyse(
    log: Path, limit_bytes: int = 0, which: str = "fast"
) -> tuple[int, float, int, int, int, str, float]:
    """Lines, seconds, peak RSS (KiB), clients, suspects, the top suspect, CPU seconds."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(log), str(limit_bytes), which],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    if not limit_bytes:
        print(f"  suspects' reasons: {done.stderr.strip()}")
    out = done.stdout.split()
    return (
        int(out[0]), float(out[1]), int(out[2]), int(out[3]), int(out[4]), out[5], float(out[6])
    )  # fmt: skip


class _FakeDb:
    """The two queries Blocklist's refresh makes, answered from a list (no server needed)."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def fetch_one(self, query: str, params: Sequence[Any] | None = None) -> Mapping[str, Any]:
        return {"n": len(self.rows), "changed": 1, "next_expiry": None, "now": 0.0}

    def fetch_all(self, query: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        return self.rows


def _address(rng: random.Random) -> str:
    return f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"


def _lookups(
    seconds: float,
) -> tuple[tuple[float, float], tuple[float, float], int]:
    rng = random.Random(3)
    rows: list[dict[str, Any]] = []
    for i in range(CIDRS):
        if i % 10 == 0:
            bits = rng.randrange(32, 129)
            value = rng.getrandbits(128) >> (128 - bits) << (128 - bits)
            host = ":".join(f"{(value >> s) & 0xFFFF:x}" for s in range(112, -1, -16))
        else:
            bits = rng.randrange(16, 33)
            value = rng.getrandbits(32) >> (32 - bits) << (32 - bits)
            host = ".".join(str((value >> s) & 0xFF) for s in (24, 16, 8, 0))
        rows.append({"host": host, "bits": bits})
    blocklist = Blocklist(_FakeDb(rows), SecuritySettings(cache_seconds=5))  # type: ignore[arg-type]
    pool = [_address(rng) for _ in range(10_000)]
    intervals = len(blocklist.networks())
    is_blocked = blocklist.is_blocked

    def rate(addresses: list[str]) -> tuple[float, float]:
        """Lookups per second of wall-clock and of CPU time (this machine is shared)."""
        done, begin, cpu = 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - begin < seconds:
            for address in addresses:
                is_blocked(address)
            done += len(addresses)
        return done / (time.perf_counter() - begin), done / (time.process_time() - cpu)

    cached = rate(pool)
    fresh = [_address(rng) for _ in range(1_000_000)]
    uncached = rate(fresh)  # 1,000,000 addresses: the answer cache (65,536) never helps
    return cached, uncached, intervals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log-mb", type=int, default=1024, help="size of the generated log")
    parser.add_argument("--seconds", type=float, default=3.0, help="per lookup measurement")
    parser.add_argument(
        "--reference", action="store_true", help="time the reference Analyzer on the log too"
    )
    args, _unknown = parser.parse_known_args()
    if shutil.which("awk") is None or shutil.which("sort") is None:
        print("bench_security: awk and sort are needed for the baseline")
        return 2
    cached, uncached, intervals = _lookups(args.seconds)
    print(f"is_blocked, {CIDRS:,} CIDRs ({intervals:,} merged intervals), one process:")
    for name, (wall, cpu) in (
        ("repeat visitors (10,000 addresses)", cached),
        ("never-seen addresses", uncached),
    ):
        verdict = "met" if wall >= TARGET_LOOKUPS else "MISSED"
        print(f"  {name}: {wall:,.0f} lookups/s ({cpu:,.0f} per CPU second;"
              f" target >= {TARGET_LOOKUPS:,}: {verdict})")  # fmt: skip
    print(f"  load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="opslib-bench-security-") as tmp:
        log = Path(tmp) / "access.log"
        began = time.perf_counter()
        lines = generate_log(log, args.log_mb)
        size = os.path.getsize(log)
        print(f"log analysis: generated {size / 1e6:,.0f} MB, {lines:,} lines"
              f" in {time.perf_counter() - began:.0f} s")  # fmt: skip
        awk, awk_cpu = _awk(log)
        seen, took, rss, clients, suspects, top, cpu = _analyse(log)
        _q_lines, _q_took, q_rss, _qc, _qs, _qt, _qcpu = _analyse(log, size // 4)
        awk_rate, ours = lines / awk, seen / took
        ratio = ours / awk_rate
        verdict = "met" if ratio >= TARGET_RATIO else "MISSED"
        print(f"  awk '{{print $1}}' | sort | uniq -c: {awk:.1f} s ({awk_cpu:.1f} CPU s),"
              f" {awk_rate:,.0f} lines/s")  # fmt: skip
        top, _, way = top.partition("(")
        way = "compiled scanner" if way else "pure Python"
        print(f"  opslib ({way}, every feature, {clients:,} clients, {suspects} suspects,"
              f" top {top}): {took:.1f} s ({cpu:.1f} CPU s), {ours:,.0f} lines/s")  # fmt: skip
        print(f"  ratio {ratio:.2f}x, per CPU second {awk_cpu / cpu:.2f}x"
              f" (target >= {TARGET_RATIO}x: {verdict})")  # fmt: skip
        if args.reference:
            _r_lines, r_took, _rr, _rc, _rs, _rt, r_cpu = _analyse(log, which="reference")
            print(f"  reference Analyzer: {r_took:.1f} s ({r_cpu:.1f} CPU s);"
                  f" the fast one {r_cpu / cpu:.2f}x per CPU second")  # fmt: skip
        print(f"  peak RSS: whole log {rss / 1024:,.0f} MB, a quarter of it {q_rss / 1024:,.0f} MB")
        print(f"  load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
