"""Real proxies and a judge on 127.0.0.1 for the tester's tests: an asyncio loop in a thread.

``ProxyServers`` serves a judge (echoes the client address and headers as JSON, as the lab's
``/judge`` does), judges of the other common shapes on demand (:meth:`ProxyServers.judge`:
httpbin's ``/get``, ``/headers`` and ``/ip``, an azenv page, a plain ``Header: value`` echo,
optionally behind a reverse proxy that adds X-Real-IP and X-Forwarded-For), a target that
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

from tests.support import free_port

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


def _response(
    status: int, body: bytes, extra: str = "", content_type: str = "application/json"
) -> bytes:
    return (
        f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nConnection: close\r\n"
        f"{extra}Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


# Headers httpbin leaves out of its echo unless asked (``?show_env=1``): its ENV_HEADERS.
_HTTPBIN_ENV = frozenset(
    {"x-forwarded-for", "x-real-ip", "via", "x-forwarded-proto", "x-forwarded-port",
     "x-request-id", "x-forwarded-protocol", "x-forwarded-ssl"}
)  # fmt: skip


def _httpbin(path: str, peer: str, headers: dict[str, str]) -> tuple[bytes, str]:
    """What httpbin answers: ``origin`` is X-Forwarded-For when present (else the peer);
    ``headers`` title-cased, its environment headers hidden unless ``show_env``."""
    show_env = "show_env=1" in path
    echoed = {k.title(): v for k, v in headers.items() if show_env or k.lower() not in _HTTPBIN_ENV}
    origin = headers.get("X-Forwarded-For", peer)
    endpoint = path.partition("?")[0]
    if endpoint == "/ip":
        body: dict[str, object] = {"origin": origin}
    elif endpoint == "/headers":
        body = {"headers": echoed}
    else:
        body = {"args": {}, "headers": echoed, "origin": origin, "url": f"http://x{path}"}
    return json.dumps(body, indent=2).encode(), "application/json"


def _azenv(peer: str, headers: dict[str, str]) -> tuple[bytes, str]:
    """An azenv.php page: PHP's $_SERVER in a <pre>, headers as HTTP_NAME = value."""
    lines = [f"HTTP_{k.upper().replace('-', '_')} = {v}" for k, v in headers.items()]
    lines += [f"REMOTE_ADDR = {peer}", "REMOTE_PORT = 51234", "REQUEST_METHOD = GET",
              "REQUEST_TIME = 1714557600"]  # fmt: skip
    page = "<html><head><title>AZ Environment variables 1.04</title></head><body><pre>\n"
    return (page + "\n".join(lines) + "\n</pre></body></html>\n").encode(), "text/html"


def _header_echo(peer: str, headers: dict[str, str]) -> tuple[bytes, str]:
    """A plain-text echo of the request's header lines (and the remote address)."""
    lines = [f"{k}: {v}" for k, v in headers.items()] + [f"Remote-Addr: {peer}"]
    return ("\n".join(lines) + "\n").encode(), "text/plain; charset=utf-8"


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
            for _attempt in range(20):
                try:
                    server = await asyncio.start_server(handler, "127.0.0.1", free_port(), ssl=tls)
                except OSError:  # taken between the check and the bind: another port
                    continue
                self._servers.append(server)
                return int(server.sockets[0].getsockname()[1])
            raise RuntimeError("no free port for a test server")

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

    def judge(self, shape: str, path: str = "/", *, behind_reverse_proxy: bool = False) -> str:
        """Start a judge of ``shape`` (``httpbin``, ``azenv``, ``headers``, or ``garbage``: an
        HTML page that echoes nothing); returns its URL with ``path``. Behind a reverse proxy,
        the judge sees X-Real-IP and X-Forwarded-For naming the peer, as nginx would add."""

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, TimeoutError):
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ)
                line, headers = _headers(head)
                peer = writer.get_extra_info("peername")[0]
                if behind_reverse_proxy:
                    forwarded = headers.get("X-Forwarded-For")
                    headers["X-Forwarded-For"] = f"{forwarded}, {peer}" if forwarded else peer
                    headers["X-Real-IP"] = peer
                    peer = "127.0.0.9"  # the reverse proxy's own address
                target = line.split(" ")[1]
                if shape == "httpbin":
                    body, kind = _httpbin(target, peer, headers)
                elif shape == "azenv":
                    body, kind = _azenv(peer, headers)
                elif shape == "headers":
                    body, kind = _header_echo(peer, headers)
                else:
                    body, kind = (
                        b"<html><body><h1>Welcome</h1><p>Note: nothing here</p>",
                        "text/html",
                    )
                writer.write(_response(200, body, content_type=kind))
                await writer.drain()
            writer.close()

        return f"http://127.0.0.1:{self._start(handle)}{path}"

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
