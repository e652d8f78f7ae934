"""HTTP forward proxies, one listener per proxy, all in one asyncio process.

Each proxy handles absolute-form requests and CONNECT, resolves ``*.test`` to 127.0.0.1 and
refuses every target that is not loopback. Each connects upstream from its own loopback address
(127.0.1.N), so the shops see one "exit IP" per proxy. Modes from the control file: ``dead``
(listener closed), ``blackhole`` (accepts, never answers), ``slow``, ``banned`` (shops refuse its
exit IP), ``leaking`` (adds X-Forwarded-For and Via). Run as
``python -m opslib.lab._proxy --state-dir DIR``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import random
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from opslib.lab._control import ControlFile, ProxyControl
from opslib.lab._paths import LabPaths, load_recorded

__all__ = ["ProxyFarm", "main", "resolve_target"]

_HEAD_LIMIT = 64 * 1024
_IDLE = 30.0
_CONNECT_TIMEOUT = 5.0
_SLOW_EXTRA = 3.0
_HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer",
    "upgrade",
}  # fmt: skip


def resolve_target(host: str) -> str | None:
    """The loopback address for ``host``, or None when the lab must refuse it."""
    name = host.strip("[]").lower().rstrip(".")
    if name.endswith(".test") or name == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return None
    return str(address) if address.is_loopback else None


@dataclass(frozen=True)
class _Proxy:
    label: str
    country: str
    port: int
    source_ip: str


class _BadRequest(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class ProxyFarm:
    """All proxies of the lab; listeners follow the control file (a dead proxy refuses)."""

    def __init__(self, proxies: list[_Proxy], control: ControlFile) -> None:
        self.proxies = proxies
        self.control = control
        self._servers: dict[str, asyncio.Server] = {}
        self._random = random.Random()  # noqa: S311 - simulated latency, not security

    def _control_of(self, proxy: _Proxy) -> ProxyControl:
        found = self.control.read().proxies.get(proxy.label)
        return found if found is not None else ProxyControl(latency_ms=0)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._reconcile()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.25)
        for server in self._servers.values():
            server.close()

    async def _reconcile(self) -> None:
        for proxy in self.proxies:
            dead = self._control_of(proxy).mode == "dead"
            server = self._servers.get(proxy.label)
            if dead and server is not None:
                server.close()
                del self._servers[proxy.label]
            elif not dead and server is None:
                self._servers[proxy.label] = await asyncio.start_server(
                    lambda r, w, p=proxy: self._handle(p, r, w),  # type: ignore[misc]
                    "127.0.0.1",
                    proxy.port,
                    reuse_address=True,
                    limit=_HEAD_LIMIT,
                )

    async def _handle(
        self, proxy: _Proxy, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            await self._serve(proxy, reader, writer)
        except _BadRequest as exc:
            await self._refuse(writer, exc.status, exc.reason)
        except (
            ConnectionError,
            TimeoutError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
        ):
            pass  # the client went away or stalled: nothing to answer
        finally:
            writer.close()

    async def _serve(
        self, proxy: _Proxy, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        mode = self._control_of(proxy)
        if mode.mode == "blackhole":
            await asyncio.sleep(600)
            return
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _IDLE)
        request = _Request.parse(head)
        address = resolve_target(request.host)
        if address is None:
            raise _BadRequest(
                403, f"target {request.host} refused: the lab proxies reach loopback only"
            )
        delay = mode.latency_ms * self._random.uniform(0.7, 1.3) / 1000
        await asyncio.sleep(delay + (_SLOW_EXTRA if mode.mode == "slow" else 0))
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(address, request.port, local_addr=(proxy.source_ip, 0)),
                _CONNECT_TIMEOUT,
            )
        except (OSError, TimeoutError) as exc:
            where = f"{request.host}:{request.port}"
            raise _BadRequest(502, f"upstream {where} unreachable") from exc
        try:
            if request.method == "CONNECT":
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
                await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
                return
            extra = []
            if mode.mode == "leaking":
                client_ip = writer.get_extra_info("peername")[0]
                extra = [f"X-Forwarded-For: {client_ip}", f"Via: 1.1 lab-proxy-{proxy.country}"]
            up_writer.write(request.upstream_head(extra))
            if request.length:
                up_writer.write(await asyncio.wait_for(reader.readexactly(request.length), _IDLE))
            await up_writer.drain()
            await _pipe(up_reader, writer)
        finally:
            up_writer.close()

    @staticmethod
    async def _refuse(writer: asyncio.StreamWriter, status: int, reason: str) -> None:
        body = f"{status} {reason}\n".encode()
        title, error = (
            ("Bad Gateway", "destination_unavailable")
            if status == 502
            else ("Refused", "http_request_denied")
        )
        head = (
            f"HTTP/1.1 {status} {title}\r\nProxy-Status: opslib-lab; error={error}\r\n"
            f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode() + body)
        with contextlib.suppress(ConnectionError):
            await writer.drain()


@dataclass(frozen=True)
class _Request:
    method: str
    host: str
    port: int
    path: str
    headers: tuple[tuple[str, str], ...]
    length: int

    @classmethod
    def parse(cls, head: bytes) -> _Request:
        """A proxy request head: absolute-form (``GET http://host/path``) or CONNECT."""
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, _version = lines[0].split(" ", 2)
        except ValueError as exc:
            raise _BadRequest(400, "malformed request line") from exc
        headers = tuple(
            (name.strip(), value.strip())
            for name, _, value in (line.partition(":") for line in lines[1:] if ":" in line)
        )
        if method == "CONNECT":
            host, _, port_text = target.rpartition(":")
            path = ""
        else:
            parts = urlsplit(target)
            if parts.scheme != "http" or not parts.hostname:
                raise _BadRequest(400, "absolute-form http:// URL required")
            host, port_text = parts.hostname, str(parts.port or 80)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lengths = [v for n, v in headers if n.lower() == "content-length"]
        try:
            return cls(
                method, host, int(port_text), path, headers, int(lengths[0] or 0) if lengths else 0
            )
        except ValueError as exc:
            raise _BadRequest(400, "bad port or content length") from exc

    def upstream_head(self, extra: list[str]) -> bytes:
        """The request in origin form, hop-by-hop headers (and proxy credentials) dropped."""
        out = [f"{self.method} {self.path} HTTP/1.1"]
        out += [f"{n}: {v}" for n, v in self.headers if n.lower() not in _HOP_BY_HOP]
        out += [*extra, "Connection: close"]
        return ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await asyncio.wait_for(reader.read(65536), _IDLE):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, TimeoutError):
        pass  # either side hung up or went idle: the tunnel ends here
    finally:
        with contextlib.suppress(ConnectionError, RuntimeError):
            if writer.can_write_eof():
                writer.write_eof()


async def _serve_until_stopped(farm: ProxyFarm) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await farm.run(stop)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="opslib-lab-proxies")
    parser.add_argument("--state-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    settings = load_recorded(args.state_dir)
    proxies = [
        _Proxy(label, country, port, settings.proxy_source_ip(i))
        for i, (label, country, port) in enumerate(settings.proxies)
    ]
    farm = ProxyFarm(proxies, ControlFile(LabPaths(args.state_dir).control))
    print(f"proxies: {', '.join(f'{p.country}:{p.port}' for p in proxies)}", flush=True)
    asyncio.run(_serve_until_stopped(farm))
    return 0


if __name__ == "__main__":
    sys.exit(main())
