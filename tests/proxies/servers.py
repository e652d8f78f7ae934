"""Real proxies and a judge on 127.0.0.1 for the tester's tests: an asyncio loop in a thread.

``ProxyServers`` serves a judge (echoes the client address and headers as JSON), a target that
answers a chosen status, HTTP forward proxies (``ok``, ``leaking``, ``blackhole``, ``slow``;
optionally requiring Basic credentials, optionally over TLS) and SOCKS5 proxies (RFC 1928
CONNECT, optionally with RFC 1929 username/password). Every upstream connection goes to
127.0.0.1 only, from ``EXIT_IP``, so the judge sees the proxy's address rather than the
client's.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
import ssl
import struct
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

__all__ = ["EXIT_IP", "ProxyServers", "serving"]

EXIT_IP = "127.0.0.2"

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
_READ = 10.0  # no test waits longer on a peer


def _headers(head: bytes) -> tuple[str, dict[str, str]]:
    request_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip()] = value.strip()
    return request_line, headers


def _response(status: int, body: bytes, extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nConnection: close\r\n"
        f"{extra}Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


@dataclass
class ProxyServers:
    """Servers started by :func:`serving`; ports are on 127.0.0.1."""

    loop: asyncio.AbstractEventLoop
    judge_port: int = 0
    target_port: int = 0
    target_status: int = 200
    in_flight: int = 0
    peak_in_flight: int = 0
    _servers: list[asyncio.Server] = field(default_factory=list)

    @property
    def judge_url(self) -> str:
        return f"http://127.0.0.1:{self.judge_port}/judge"

    @property
    def target_url(self) -> str:
        return f"http://127.0.0.1:{self.target_port}/product/1"

    def _start(self, handler: Handler, tls: ssl.SSLContext | None = None) -> int:
        async def start() -> int:
            server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=tls)
            self._servers.append(server)
            return int(server.sockets[0].getsockname()[1])

        return asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)

    def http_proxy(
        self,
        mode: str = "ok",
        credentials: tuple[str, str] | None = None,
        *,
        tls: ssl.SSLContext | None = None,
    ) -> int:
        """An HTTP forward proxy (absolute-form requests), spoken over TLS when ``tls`` is
        given (an https:// proxy); returns its port."""
        return self._start(self._http_handler(mode, credentials), tls)

    def socks5_proxy(self, credentials: tuple[str, str] | None = None) -> int:
        """A SOCKS5 proxy (CONNECT only); returns its port."""
        return self._start(self._socks_handler(credentials))

    async def _judge(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ)
            _line, headers = _headers(head)
            peer = writer.get_extra_info("peername")[0]
            writer.write(
                _response(200, json.dumps({"client_ip": peer, "headers": headers}).encode())
            )
            await writer.drain()
        writer.close()

    async def _target(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ)
            writer.write(_response(self.target_status, b"{}"))
            await writer.drain()
        writer.close()

    async def _relay(self, port: int, request: bytes, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(
            "127.0.0.1", port, local_addr=(EXIT_IP, 0)
        )
        try:
            up_writer.write(request)
            await up_writer.drain()
            writer.write(await asyncio.wait_for(up_reader.read(), _READ))
            await writer.drain()
        finally:
            up_writer.close()

    def _http_handler(self, mode: str, credentials: tuple[str, str] | None) -> Handler:
        expected = None
        if credentials is not None:
            expected = "Basic " + base64.b64encode(":".join(credentials).encode()).decode()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ)
                if mode == "blackhole":
                    await asyncio.wait_for(reader.read(), _READ)
                    return
                if mode == "slow":
                    await asyncio.sleep(0.3)
                line, headers = _headers(head)
                if expected is not None and headers.get("Proxy-Authorization") != expected:
                    writer.write(_response(407, b"{}", 'Proxy-Authenticate: Basic realm="p"\r\n'))
                    await writer.drain()
                    return
                method, target, version = line.split(" ", 2)
                port = int(target.split("/")[2].rsplit(":", 1)[1])
                path = "/" + target.split("/", 3)[3]
                headers.pop("Proxy-Authorization", None)
                if mode == "leaking":
                    headers["X-Forwarded-For"] = "127.0.0.1"
                    headers["Via"] = "1.1 leaky"
                request = f"{method} {path} {version}\r\n" + "".join(
                    f"{k}: {v}\r\n" for k, v in headers.items()
                )
                await self._relay(port, request.encode("latin-1") + b"\r\n", writer)
            except (ConnectionError, asyncio.IncompleteReadError, TimeoutError, ValueError):
                pass  # the client gave up or sent garbage: nothing to answer
            finally:
                self.in_flight -= 1
                writer.close()

        return handle

    def _socks_handler(self, credentials: tuple[str, str] | None) -> Handler:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                version, n = await reader.readexactly(2)
                methods = await reader.readexactly(n)
                want = 0x02 if credentials is not None else 0x00
                if version != 5 or want not in methods:
                    writer.write(b"\x05\xff")
                    return
                writer.write(bytes((5, want)))
                if credentials is not None:
                    _v, ulen = await reader.readexactly(2)
                    user = (await reader.readexactly(ulen)).decode()
                    (plen,) = await reader.readexactly(1)
                    password = (await reader.readexactly(plen)).decode()
                    good = (user, password) == credentials
                    writer.write(b"\x01\x00" if good else b"\x01\x01")
                    if not good:
                        return
                _v, command, _r, kind = await reader.readexactly(4)
                if kind == 1:
                    host = socket.inet_ntoa(await reader.readexactly(4))
                elif kind == 3:
                    (size,) = await reader.readexactly(1)
                    host = (await reader.readexactly(size)).decode()
                else:
                    host = "::"
                    await reader.readexactly(16)
                (port,) = struct.unpack("!H", await reader.readexactly(2))
                if command != 1 or host not in ("127.0.0.1", "localhost"):
                    writer.write(b"\x05\x02\x00\x01" + bytes(6))  # not allowed by ruleset
                    return
                up_reader, up_writer = await asyncio.open_connection(
                    "127.0.0.1", port, local_addr=(EXIT_IP, 0)
                )
                try:
                    writer.write(b"\x05\x00\x00\x01" + socket.inet_aton(EXIT_IP) + bytes(2))
                    await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
                finally:
                    up_writer.close()
            except (ConnectionError, asyncio.IncompleteReadError, UnicodeDecodeError):
                pass
            finally:
                writer.close()

        return handle


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while data := await asyncio.wait_for(source.read(65536), _READ):
            sink.write(data)
            await sink.drain()
    except (ConnectionError, TimeoutError):
        pass  # either side hung up: the other is closed below
    finally:
        sink.close()


@contextlib.contextmanager
def serving() -> Iterator[ProxyServers]:
    """Start the judge and the target; add proxies with the returned object's methods."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    servers = ProxyServers(loop)
    try:
        servers.judge_port = servers._start(servers._judge)
        servers.target_port = servers._start(servers._target)
        yield servers
    finally:

        async def stop() -> None:
            for server in servers._servers:
                server.close()
            current = asyncio.current_task()
            tasks = [task for task in asyncio.all_tasks() if task is not current]
            for task in tasks:
                task.cancel()
            # Let every handler run its finally (closing its transports) before the loop stops.
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.sleep(0.05)

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
