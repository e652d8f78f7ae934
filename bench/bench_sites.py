"""Benchmark: ``opslib.sites.verify_sites`` on 500 domains against the loop an operator would
otherwise run (one request after another, ``curl -m T --resolve`` style, with httpx).

Run with ``nox -s bench`` (or ``python bench/bench_sites.py [--domains N] [--timeout T]``).
Measured side by side in one run, against local servers in processes of their own (so their
CPU is not the client's): one shop server answering for every ``shop-NNN.bench.test`` Host
(each page after ``--latency`` ms, as a real shop takes), and three HTTP forward proxies.

1. opslib, direct only (``--direct-only``): one request per domain, all at once.
2. opslib as the emergency runs it: directly and through 3 proxies (4 requests per domain).
3. The sequential loop, directly, same timeout.

Target: the whole verification (2.) within 2 x the per-request timeout (``timeouts.http``).
Every domain must come out ``up`` (a wrong verdict fails the bench, not just a slow one).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import sys
import time
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event

import httpx

from opslib.config import Settings, SiteSettings, Timeouts
from opslib.proxies import Proxy
from opslib.sites import SiteReport, SiteTarget, Verdict, classify_answer, verify_sites

PROXIES = 3
PAGE = (
    b"<!doctype html><html><head><title>Kettle | Bench Shop</title></head><body>"
    b'<div itemscope itemtype="https://schema.org/Product"><h1>Kettle</h1>'
    b'<span class="price" itemprop="price" content="12.50">12,50 EUR</span></div>'
    + b"<p>"
    + b"x" * 8000
    + b"</p></body></html>"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _shop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, latency: float) -> None:
    try:
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        await asyncio.sleep(latency)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n"
            + f"Content-Length: {len(PAGE)}\r\n\r\n".encode()
            + PAGE
        )
        await writer.drain()
    except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def _proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, shop: int) -> None:
    """An HTTP forward proxy for absolute-form GETs; every target is the bench's shop."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        line, _, rest = head.partition(b"\r\n")
        method, target, version = line.split(b" ", 2)
        path = b"/" + target.split(b"/", 3)[3]
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", shop)
        up_writer.write(b" ".join((method, path, version)) + b"\r\n" + rest)
        await up_writer.drain()
        writer.write(await asyncio.wait_for(up_reader.read(), 10))
        await writer.drain()
        up_writer.close()
    except (ConnectionError, TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError):
        pass
    finally:
        writer.close()


def _serve(kind: str, ports: list[int], shop: int, latency: float, ready: Event) -> None:
    async def run() -> None:
        servers = []
        for port in ports:
            if kind == "shop":
                handler = lambda r, w: _shop(r, w, latency)  # noqa: E731
            else:
                handler = lambda r, w: _proxy(r, w, shop)  # noqa: E731
            servers.append(await asyncio.start_server(handler, "127.0.0.1", port, backlog=4096))
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(run())


def _start(kind: str, ports: list[int], shop: int, latency: float) -> BaseProcess:
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    process = ctx.Process(target=_serve, args=(kind, ports, shop, latency, ready), daemon=True)
    process.start()
    if not ready.wait(20):
        raise SystemExit(f"bench_sites: the {kind} server did not start")
    return process


def _sequential(targets: list[SiteTarget], shop: int, timeout: float) -> tuple[float, int]:
    """What an operator would run: each domain in turn, ``curl -m T --resolve``-like."""
    began, up = time.perf_counter(), 0
    with httpx.Client(timeout=timeout, trust_env=False) as client:
        for target in targets:
            url = f"http://127.0.0.1:{shop}/product/1"
            try:
                response = client.get(url, headers={"Host": target.domain, "Connection": "close"})
            except httpx.HTTPError:
                continue
            up += classify_answer(response.status_code, response.content)[0].value == "ok"
    return time.perf_counter() - began, up


def _check(report: SiteReport, expected: int, label: str) -> None:
    wrong = [v for v in report.verdicts if v.verdict is not Verdict.UP]
    if len(report.verdicts) != expected or wrong:
        example = wrong[0].evidence if wrong else ()
        raise SystemExit(f"bench_sites: {label}: {len(wrong)} site(s) not up: {example}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=500)
    parser.add_argument("--timeout", type=float, default=Timeouts().http)
    parser.add_argument("--latency", type=float, default=20.0, help="the shop's ms per page")
    args, _other = parser.parse_known_args()  # nox passes the same arguments to every bench
    shop = _free_port()
    proxy_ports = [_free_port() for _ in range(PROXIES)]
    servers = [
        _start("shop", [shop], shop, args.latency / 1000),
        _start("proxies", proxy_ports, shop, 0),
    ]
    try:
        targets = [
            SiteTarget(
                f"shop-{n:03d}.bench.test", f"http://shop-{n:03d}.bench.test:{shop}/product/1"
            )
            for n in range(args.domains)
        ]
        settings = Settings(
            timeouts=Timeouts(http=args.timeout),
            sites=SiteSettings(resolve={"*.bench.test": "127.0.0.1"}),
        )
        proxies = [Proxy(scheme="http", host="127.0.0.1", port=p) for p in proxy_ports]
        verify_sites(targets[:5], settings, proxies)  # warm: imports, TLS context, first sockets
        began = time.perf_counter()
        direct = verify_sites(targets, settings)
        direct_s = time.perf_counter() - began
        _check(direct, args.domains, "direct")
        began = time.perf_counter()
        full = verify_sites(targets, settings, proxies)
        full_s = time.perf_counter() - began
        _check(full, args.domains, "with proxies")
        loop_s, loop_up = _sequential(targets, shop, args.timeout)
    finally:
        for process in servers:
            process.kill()
            process.join(5)
    bound = 2 * args.timeout
    met = "met" if full_s <= bound else "NOT MET"
    requests = args.domains * (1 + PROXIES)
    print(
        f"site verification of {args.domains} domains (local shop, {args.latency:g} ms a page),"
        f" timeout T = {args.timeout:g} s:"
    )
    print(f"   opslib, direct only      : {direct_s:6.2f} s ({args.domains} requests, all up)")
    print(f"   opslib, direct + {PROXIES} proxies: {full_s:6.2f} s ({requests} requests, all up)")
    print(
        f"   sequential httpx loop    : {loop_s:6.2f} s ({args.domains} requests, {loop_up} up);"
        f" {loop_s / direct_s:.1f}x opslib direct, {loop_s / full_s:.1f}x opslib with proxies"
    )
    print(f"   target: opslib with proxies <= 2 x T = {bound:g} s: {met}")
    return 0 if full_s <= bound else 1


if __name__ == "__main__":
    sys.exit(main())
