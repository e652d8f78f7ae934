"""Benchmark: ``RateLimiter.acquire()`` from 4 processes sharing one domain's limit, batched
against a database round trip per permit; and the most permits admitted in any 10 s window
against the limit's bound, rate x 10 + burst.

Run with ``nox -s bench`` (or ``python bench/bench_ratelimit.py [--seconds S]``). Measures side
by side in one run, on a scratch PostgreSQL cluster of its own (removed after):

1. Ceiling: a limit far above what the processes can take (1,000,000/s), so the figure is the
   limiter's own cost: permits per second from 4 processes hammering ``acquire``, with batches
   (the default) and with a database round trip per permit (``max_batch = 1``: what a limiter
   without local batches does). Target: >= 2,000 permits/s in all.
2. The guarantee: a limit of 2,500/s with a burst of 250 shared by 4 processes for
   ``--seconds`` (default 25): permits per second in all, and the most admitted in any 10 s
   window (every admission time-stamped) against rate x 10 + burst = 25,250; the same with a
   round trip per permit.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

from opslib.adapters import Database
from opslib.config import RateLimitSettings
from opslib.lab._postgres import PostgresCluster
from opslib.migrations import migrate
from opslib.ratelimit import RateLimiter, RateLimitTimeout

PROCESSES = 4
TARGET = 2_000
WINDOW = 10.0


def _hammer(  # noqa: PLR0917 - Process passes arguments by position
    dsn: str,
    domain: str,
    seconds: float,
    ready: Barrier,
    max_batch: int,
    stamps: bool,
    results: Queue[tuple[int, int, list[float]]],
) -> None:
    """Put (permits, reservation statements, admission times if ``stamps``) of one process."""
    admitted: list[float] = []
    count = 0
    with Database(dsn) as db:
        limiter = RateLimiter(db, RateLimitSettings(max_batch=max_batch))
        limiter.limit(domain)  # connected before the clock starts
        ready.wait(120)  # every process started and connected: all start together
        until = time.time() + seconds
        acquire, clock = limiter.acquire, time.time
        while (now := clock()) < until:
            try:
                acquire(domain, timeout=until - now)
            except RateLimitTimeout:
                break
            count += 1
            if stamps:
                admitted.append(clock())
    results.put((count, limiter.reservations, admitted))


def _run(
    dsn: str, domain: str, seconds: float, max_batch: int, *, stamps: bool
) -> tuple[list[tuple[int, int, list[float]]], float]:
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Barrier(PROCESSES)
    results: Queue[tuple[int, int, list[float]]] = ctx.Queue()
    procs = [
        ctx.Process(target=_hammer, args=(dsn, domain, seconds, ready, max_batch, stamps, results))
        for _ in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    runs = [results.get(timeout=seconds + 180) for _ in procs]
    for proc in procs:
        proc.join(30)
    return runs, seconds


def max_in_window(times: Sequence[float], seconds: float) -> int:
    """The most events in any window of ``seconds`` (closed at both ends)."""
    ordered = sorted(times)
    best = start = 0
    for end, at in enumerate(ordered):
        while at - ordered[start] > seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


def bench_ceiling(dsn: str, seconds: float) -> None:
    with Database(dsn) as db:
        RateLimiter(db).set_limit("ceiling.test", rate=1_000_000, burst=1_000_000, actor="bench")
    load = os.getloadavg()[0]
    print(
        f"1. ceiling: {PROCESSES} processes, one limit of 1,000,000/s, {seconds:g} s each"
        f" ({os.cpu_count()} cores, load average {load:.1f} before):"
    )
    results = {}
    for label, batch in (("batched", RateLimitSettings().max_batch), ("a round trip each", 1)):
        runs, took = _run(dsn, "ceiling.test", seconds, batch, stamps=False)
        permits = sum(r[0] for r in runs)
        trips = sum(r[1] for r in runs)
        results[label] = permits / took
        print(
            f"   {label:<18}: {permits / took:>12,.0f} permits/s in all"
            f" ({min(r[0] for r in runs) / took:,.0f} - {max(r[0] for r in runs) / took:,.0f}"
            f" per process), {trips / took:,.0f} statements/s"
        )
    ratio = results["batched"] / max(results["a round trip each"], 1e-9)
    met = "met" if results["batched"] >= TARGET else "NOT met"
    print(f"   batched / round trip each: {ratio:,.1f}x; target >= {TARGET:,}/s in all: {met}")


def bench_guarantee(dsn: str, seconds: float) -> None:
    rate, burst = 2_500.0, 250
    bound = rate * WINDOW + burst
    print(
        f"2. the guarantee: {PROCESSES} processes share a limit of {rate:,.0f}/s, burst {burst},"
        f" for {seconds:g} s (bound in any {WINDOW:g} s window: {bound:,.0f}):"
    )
    for label, batch in (("batched", RateLimitSettings().max_batch), ("a round trip each", 1)):
        domain = f"{'batched' if batch > 1 else 'single'}.test"
        with Database(dsn) as db:
            RateLimiter(db).set_limit(domain, rate=rate, burst=burst, actor="bench")
        runs, _ = _run(dsn, domain, seconds, batch, stamps=True)
        times = [t for r in runs for t in r[2]]
        span = max(times) - min(times) if times else 0.0
        worst = max_in_window(times, WINDOW)
        met = "within" if worst <= bound else "OVER"
        trips = sum(r[1] for r in runs)
        print(
            f"   {label:<18}: {len(times) / max(span, 1e-9):>8,.0f} permits/s in all"
            f" ({trips / max(span, 1e-9):,.0f} statements/s); most in any {WINDOW:g} s:"
            f" {worst:,} ({met} the bound {bound:,.0f}, {worst / bound:.1%})"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=25.0, help="guarantee run, each")
    parser.add_argument("--ceiling-seconds", type=float, default=5.0, help="ceiling run, each")
    args, _other = parser.parse_known_args()  # nox passes the same arguments to every bench
    began = time.perf_counter()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the cluster is still removed
    base = Path(tempfile.mkdtemp(prefix="opslib-bench-ratelimit-"))
    base.chmod(0o755)  # the cluster runs as an unprivileged user that must reach it
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cluster = PostgresCluster(base / "cluster", port)
    try:
        cluster.init()
        cluster.start()
        with Database(cluster.dsn) as db:
            migrate(db, ("opslib",))
        bench_ceiling(cluster.dsn, args.ceiling_seconds)
        bench_guarantee(cluster.dsn, max(args.seconds, WINDOW + 2))
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
    print(f"bench_ratelimit: {time.perf_counter() - began:.0f} s in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
