"""Benchmark: testing 1,000 proxies concurrently against a sequential loop; pool throughput.

Run with ``nox -s bench`` (or ``python bench/bench_proxies.py [--rounds N] [--timeouts 1,2,5]``).
Measures side by side in one run:

1. ``probe_proxies`` (what ``opslib proxies test`` runs) over 1,000 proxies on 127.0.0.1 (70 %
   fast, 10 % slow, 10 % dead = connection refused, 10 % black hole = accepts, never answers)
   against a judge, for each per-proxy timeout T (1, 2 and 5 s): wall time against the bound
   1.5 x T + the time the concurrency limit imposes (the summed nominal per-proxy time /
   concurrency), proxies per second, CPU per proxy and the peak memory of the testing process;
   against a sequential loop (one httpx client call after another) over a sample of 50 with
   the same mix, extrapolated to 1,000.
2. ``ProxyPool.acquire`` + ``report`` cycles per second from 1 and from 4 processes sharing one
   pool in PostgreSQL (a scratch cluster of the bench's own, removed afterwards).
3. The same from 1 process with every proxy's password in plain text and sealed at rest
   (``proxies.encryption_keys``: each lease opens a Fernet token), and one opening's cost.

The proxies and the judge are asyncio servers in a child process, so the measured process runs
only the tester (its peak RSS is the tester's) and the two do not share a GIL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import resource
import shutil
import socket
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from pathlib import Path

import httpx
from cryptography.fernet import Fernet
from pydantic import SecretStr

from opslib.adapters import Database
from opslib.config import ProxySettings
from opslib.errors import NoProxyAvailable
from opslib.lab._postgres import PostgresCluster
from opslib.migrations import migrate
from opslib.proxies import (
    Outcome,
    PasswordSealer,
    Proxy,
    ProxyPool,
    parse_proxy_url,
    probe_proxies,
    reseal_passwords,
)

N_PROXIES = 1000
MIX = {"fast": 0.7, "slow": 0.1, "dead": 0.1, "blackhole": 0.1}
SLOW_SECONDS = 0.3
CONCURRENCY = 200
SEQUENTIAL_SAMPLE = 50
POOL_PROXIES = 200
POOL_SECONDS = 5.0
DOMAIN = "alpha-shop.test"


# The servers (child process)

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _judge(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
        head = await reader.readuntil(b"\r\n\r\n")
        headers = {
            k.strip(): v.strip()
            for k, _, v in (
                line.partition(":") for line in head.decode("latin-1").split("\r\n")[1:]
            )
            if k
        }
        body = json.dumps(
            {"client_ip": writer.get_extra_info("peername")[0], "headers": headers}
        ).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
    writer.close()


def _proxy_handler(kind: str, judge_port: int) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            if kind == "blackhole":
                await reader.read()  # never answer; done when the tester hangs up
                return
            if kind == "slow":
                await asyncio.sleep(SLOW_SECONDS)
            request_line, _, rest = head.decode("latin-1").partition("\r\n")
            method, target, version = request_line.split(" ", 2)
            path = "/" + target.split("/", 3)[3] if target.count("/") >= 3 else "/"
            up_reader, up_writer = await asyncio.open_connection(
                "127.0.0.1", judge_port, local_addr=("127.0.0.2", 0)
            )
            up_writer.write(f"{method} {path} {version}\r\n{rest}".encode("latin-1"))
            await up_writer.drain()
            writer.write(await up_reader.read())
            await writer.drain()
            up_writer.close()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass  # the tester gave up (timeout): nothing to answer
        finally:
            writer.close()

    return handle


async def _serve(kinds: list[str], conn: Connection) -> None:
    judge = await asyncio.start_server(_judge, "127.0.0.1", 0, backlog=1024)
    judge_port = judge.sockets[0].getsockname()[1]
    ports: list[int] = []
    servers = [judge]
    bound: list[socket.socket] = []
    for kind in kinds:
        if kind == "dead":  # bound but not listening: connection refused, and stays ours
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            bound.append(sock)
            ports.append(sock.getsockname()[1])
            continue
        server = await asyncio.start_server(
            _proxy_handler(kind, judge_port), "127.0.0.1", 0, backlog=256
        )
        servers.append(server)
        ports.append(server.sockets[0].getsockname()[1])
    conn.send((judge_port, ports))
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, conn.recv)  # until the parent says stop
    for server in servers:
        server.close()
    for sock in bound:
        sock.close()


def _server_process(kinds: list[str], conn: Connection) -> None:
    asyncio.run(_serve(kinds, conn))


# 1. testing proxies


def _kinds() -> list[str]:
    # Interleaved, so every stretch of ten (and the sequential sample) has the same mix.
    pattern = [kind for kind, share in MIX.items() for _ in range(round(10 * share))]
    return [pattern[i % len(pattern)] for i in range(N_PROXIES)]


def _sequential(proxies: list[Proxy], judge: str, timeout: float) -> float:
    tls = httpx.create_ssl_context()  # shared, as the concurrent tester does
    began = time.perf_counter()
    for proxy in proxies:
        try:
            with httpx.Client(
                proxy=proxy.connect_url(), verify=tls, timeout=timeout, trust_env=False
            ) as client:
                client.get(judge)
        except httpx.HTTPError:
            pass  # a failed or timed-out test is a result like any other here
    return time.perf_counter() - began


def _concurrent(
    proxies: list[Proxy], judge: str, timeout: float, rounds: int
) -> tuple[list[float], list[float], dict[str, int]]:
    """Wall and CPU seconds of each round, and the statuses of the last."""
    walls: list[float] = []
    cpus: list[float] = []
    statuses: dict[str, int] = {}
    for _ in range(rounds):
        began, cpu = time.perf_counter(), time.process_time()
        results = asyncio.run(
            probe_proxies(proxies, judge, timeout=timeout, deadline=60, concurrency=CONCURRENCY)
        )
        walls.append(time.perf_counter() - began)
        cpus.append(time.process_time() - cpu)
        statuses = {}
        for r in results:
            statuses[r.status] = statuses.get(r.status, 0) + 1
    return walls, cpus, statuses


def bench_testing(rounds: int, timeouts: list[float]) -> None:
    kinds = _kinds()
    mix = ", ".join(f"{round(N_PROXIES * s)} {k}" for k, s in MIX.items())
    print(f"1. testing {N_PROXIES} proxies on 127.0.0.1 ({mix}; slow = {SLOW_SECONDS} s)")
    print(f"   concurrency {CONCURRENCY}, rounds {rounds} per timeout; medians")
    parent, child = multiprocessing.get_context("spawn").Pipe()
    server = multiprocessing.get_context("spawn").Process(
        target=_server_process, args=(kinds, child), daemon=True
    )
    server.start()
    try:
        judge_port, ports = parent.recv()
        judge = f"http://127.0.0.1:{judge_port}/judge"
        proxies = [parse_proxy_url(f"127.0.0.1:{port}") for port in ports]
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for timeout in timeouts:
            nominal = {"fast": 0.005, "slow": SLOW_SECONDS, "dead": 0.001, "blackhole": timeout}
            limit_time = sum(nominal[k] for k in kinds) / CONCURRENCY
            bound = 1.5 * timeout + limit_time
            walls, cpus, statuses = _concurrent(proxies, judge, timeout, rounds)
            wall, cpu = statistics.median(walls), statistics.median(cpus)
            sample = proxies[:SEQUENTIAL_SAMPLE]
            seq = _sequential(sample, judge, timeout) * N_PROXIES / len(sample)
            print(f"   T = {timeout:g} s: results {dict(sorted(statuses.items()))}")
            print(
                f"     concurrent: wall {wall:.2f} s (runs {', '.join(f'{w:.2f}' for w in walls)})"
                f" vs bound 1.5 x T + {limit_time:.2f} s (concurrency limit) = {bound:.2f} s"
                f" -> {'within' if wall <= bound else 'OVER'} ({wall / bound:.2f}x of the bound)"
            )
            print(
                f"     concurrent: {N_PROXIES / wall:,.0f} proxies/s; CPU of the testing process"
                f" {cpu:.2f} s ({cpu / N_PROXIES * 1000:.2f} ms per proxy)"
            )
            print(
                f"     sequential: {seq:.1f} s for {N_PROXIES} (EXTRAPOLATED from the first"
                f" {len(sample)}, same mix), {N_PROXIES / seq:,.1f} proxies/s;"
                f" concurrent is {seq / wall:,.0f}x faster"
            )
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"   peak RSS of the testing process {peak_mb:.0f} MB"
            f" (before testing: {rss_before / 1024:.0f} MB)"
        )
    finally:
        parent.send("stop")
        server.join(10)
        if server.is_alive():
            server.kill()


# 2. acquire + report from several processes


def _cycles(
    dsn: str, seconds: float, start_at: float, key: str | None = None
) -> tuple[int, int, list[float]]:
    """(cycles, refusals, per-cycle ms) of acquire + report for ``seconds`` from ``start_at``
    (with ``key``: the pool's passwords are sealed and every lease opens one)."""
    done = refused = 0
    times: list[float] = []
    keys = [SecretStr(key)] if key else []
    with Database(dsn) as db:
        pool = ProxyPool(db, ProxySettings(failures_to_backoff=100, encryption_keys=keys))
        db.fetch_one("SELECT 1")
        time.sleep(max(0.0, start_at - time.time()))
        end = time.perf_counter() + seconds
        while (now := time.perf_counter()) < end:
            try:
                lease = pool.acquire(DOMAIN)
            except NoProxyAvailable:
                refused += 1
                continue
            pool.report(lease, Outcome("failure" if done % 10 == 0 else "success", 40.0))
            done += 1
            times.append((time.perf_counter() - now) * 1000)
    return done, refused, times


def _throughput(dsn: str, processes: int, key: str | None = None) -> tuple[float, float, int]:
    start_at = time.time() + 1.5  # every process connected before the clock starts
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(processes) as workers:
        results = workers.starmap(_cycles, [(dsn, POOL_SECONDS, start_at, key)] * processes)
    total = sum(r[0] for r in results)
    times = [t for r in results for t in r[2]]
    return total / POOL_SECONDS, statistics.median(times), sum(r[1] for r in results)


def bench_pool() -> None:
    base = Path(tempfile.mkdtemp(prefix="opslib-bench-proxies-"))
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
            pool = ProxyPool(db)
            countries = ("de", "fr", "us", "gb")
            pool.upsert(
                parse_proxy_url(f"10.{i // 250}.{i % 250}.1:3128", country=countries[i % 4])
                for i in range(POOL_PROXIES)
            )
        one = _throughput(cluster.dsn, 1)
        four = _throughput(cluster.dsn, 4)
        with Database(cluster.dsn) as db:
            row = db.fetch_one("SELECT sum(requests)::bigint AS n FROM opslib.proxies")
        recorded = int(row["n"]) if row else 0
        sealing = _bench_sealing(cluster.dsn)
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
    expected = round((one[0] + four[0]) * POOL_SECONDS)
    print(f"2. acquire + report, {POOL_PROXIES} proxies in PostgreSQL, {POOL_SECONDS:g} s each:")
    print(f"   1 process : {one[0]:,.0f} cycles/s, median {one[1]:.2f} ms per cycle")
    print(
        f"   4 processes: {four[0]:,.0f} cycles/s, median {four[1]:.2f} ms per cycle"
        f" ({four[0] / one[0]:.2f}x one process; {four[2]} refusals)"
    )
    print(f"   reports recorded in the pool: {recorded:,} of {expected:,} made (none lost)")
    plain, sealed, open_us = sealing
    print(
        "3. proxy passwords sealed at rest (proxies.encryption_keys), 1 process:"
        f" {sealed:,.0f} cycles/s against {plain:,.0f} in plain text"
        f" ({sealed / plain:.2f}x); opening one password: {open_us:.1f} us"
    )


def _bench_sealing(dsn: str) -> tuple[float, float, float]:
    """acquire + report cycles/s with every proxy's password in plain text, then sealed; and
    the cost of opening one sealed password."""
    with Database(dsn) as db:
        db.execute("UPDATE opslib.proxies SET username = 'user', password = 'pw-' || id")
    plain = _throughput(dsn, 1)[0]
    key = Fernet.generate_key().decode()
    with Database(dsn) as db:
        reseal_passwords(ProxyPool(db, ProxySettings(encryption_keys=[SecretStr(key)])))
    sealed = _throughput(dsn, 1, key)[0]
    sealer = PasswordSealer([SecretStr(key)])
    token = sealer.seal("pw-1")
    began = time.perf_counter()
    for _ in range(10_000):
        sealer.open(token)
    return plain, sealed, (time.perf_counter() - began) / 10_000 * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--timeouts", default="1,2,5", help="per-proxy timeouts T to measure, comma-separated (s)"
    )
    args, _other = parser.parse_known_args()  # nox passes the same arguments to every bench
    began = time.perf_counter()
    bench_testing(args.rounds, [float(t) for t in args.timeouts.split(",")])
    bench_pool()
    print(f"bench_proxies: {time.perf_counter() - began:.0f} s in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
