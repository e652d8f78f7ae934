"""One request to a site, directly or through a proxy, each stage timed and its failure named.

Directly, the name is resolved here (``sites.resolve`` first, then ``getaddrinfo`` in a daemon
thread, so a hanging resolver costs the timeout and never the process's exit) and the request
goes to that address with the site's Host header and TLS server name. Through a proxy, the
proxy resolves the name, as it does for the scrapers. httpcore's ``trace`` extension tells how
far a request got (connect, TLS, headers), which names the stage a failure or a timeout hit.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import socket
import ssl
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from opslib.config import SiteSettings
from opslib.proxies import Proxy
from opslib.redact import redact
from opslib.sites._content import BODY_LIMIT, classify_answer, retry_after_seconds
from opslib.sites._model import Outcome, Probe, SiteTarget

__all__ = ["Prober", "resolve_override"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_RESOLVERS = 64  # getaddrinfo threads at once
_PER_CLIENT = 32  # sites per HTTP client (and route)


class _Failed(Exception):
    def __init__(self, outcome: Outcome, stage: str, detail: str) -> None:
        super().__init__(detail)
        self.outcome, self.stage, self.detail = outcome, stage, detail


@dataclass
class _Trace:
    """The stages a request completed (httpcore trace events), and the site's certificate."""

    done: set[str] = field(default_factory=set)
    cert_not_after: float | None = None

    async def __call__(self, event: str, info: Mapping[str, Any]) -> None:
        prefix, _, phase = event.rpartition(".")
        if phase != "complete":
            return
        name = prefix.rpartition(".")[2]
        self.done.add(name)
        if name == "start_tls":
            stream = info.get("return_value")
            tls = stream.get_extra_info("ssl_object") if stream is not None else None
            cert = tls.getpeercert() if tls is not None else None
            if cert and cert.get("notAfter"):
                self.cert_not_after = ssl.cert_time_to_seconds(str(cert["notAfter"]))

    def stage(self, https: bool) -> str:
        """Where a request that got no answer stopped."""
        if "connect_tcp" not in self.done:
            return "connect"
        if https and "start_tls" not in self.done:
            return "tls"
        return "http"


def resolve_override(host: str, overrides: Mapping[str, str]) -> str | None:
    """The address ``sites.resolve`` gives ``host`` (exact name first, then ``*.suffix``)."""
    name = host.lower().rstrip(".")
    if name in overrides:
        return overrides[name]
    labels = name.split(".")
    for i in range(1, len(labels)):
        found = overrides.get("*." + ".".join(labels[i:]))
        if found is not None:
            return found
    return None


def _getaddrinfo(loop: asyncio.AbstractEventLoop, host: str, port: int) -> asyncio.Future[str]:
    future: asyncio.Future[str] = loop.create_future()

    def settle(address: str | None, error: OSError | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(str(address))

    def work() -> None:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            address, error = str(infos[0][4][0]), None
        except OSError as exc:
            address, error = None, exc
        # RuntimeError: the run is over (its loop closed); nobody waits for this name any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, address, error)

    threading.Thread(target=work, name=f"resolve {host}", daemon=True).start()
    return future


def _cause(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _connect_problem(exc: BaseException) -> str:
    if _cause(exc, ConnectionRefusedError) is not None:
        return "connection refused"
    if _cause(exc, ConnectionResetError) is not None:
        return "connection reset"
    if isinstance(exc, httpx.ConnectTimeout):
        return "no connection within the timeout"
    text = str(exc).strip()
    return f"cannot connect: {text}" if text else f"cannot connect ({type(exc).__name__})"


def _tls_problem(exc: BaseException) -> str | None:
    verify = _cause(exc, ssl.SSLCertVerificationError)
    if isinstance(verify, ssl.SSLCertVerificationError):
        return f"TLS: {verify.verify_message or verify.reason}".rstrip(".")
    error = _cause(exc, ssl.SSLError)
    if isinstance(error, ssl.SSLError):
        return f"TLS: {error.reason or error}"
    return None


class Prober:
    """The HTTP clients of one verification run, for direct requests and for each proxy;
    ``sites`` (how many the run verifies) sizes them. Use as an async context manager;
    :meth:`probe` never raises for a site's failure."""

    def __init__(
        self, settings: SiteSettings, timeout: float, proxies: Sequence[Proxy], sites: int = 1
    ) -> None:
        self.settings = settings
        self.timeout = timeout
        self.proxies = {proxy.url: proxy for proxy in proxies}
        # One TLS context for every client: building one costs ~50 ms of CPU.
        cafile = str(settings.ca_file) if settings.ca_file else None
        self._tls = (
            ssl.create_default_context(cafile=cafile) if cafile else httpx.create_ssl_context()
        )
        self._resolving = asyncio.Semaphore(_RESOLVERS)
        # httpcore's pool scans all of its connections for every request: with hundreds at once
        # in one client that scan was a third of the CPU. Requests take turns on a few clients.
        shards = max(1, -(-sites // _PER_CLIENT))
        self._clients: dict[str | None, list[httpx.AsyncClient]] = {
            None: [self._client(None) for _ in range(shards)]
        }
        for proxy in proxies:
            self._clients[proxy.url] = [self._client(proxy) for _ in range(shards)]
        self._turn = itertools.count()

    def _client(self, proxy: Proxy | None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            proxy=None
            if proxy is None
            else httpx.Proxy(
                proxy.connect_url(), ssl_context=self._tls if proxy.scheme == "https" else None
            ),
            verify=self._tls,
            timeout=self.timeout,
            trust_env=False,
            follow_redirects=False,
            # Every request on a connection of its own, closed after it: no pool to wait for,
            # and no connection made for one TLS name reused for another.
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),
            headers={"User-Agent": self.settings.user_agent, "Accept": "text/html,*/*"},
        )

    async def __aenter__(self) -> Prober:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.gather(*(c.aclose() for found in self._clients.values() for c in found))

    async def probe(self, target: SiteTarget, via: str | None, marker: str | None) -> Probe:
        """Fetch ``target.url`` directly (``via`` None) or through the proxy ``via``, within
        the timeout, and judge the answer."""
        began = time.perf_counter()
        trace = _Trace()
        parts = urlsplit(target.url)
        https = parts.scheme == "https"
        address = None
        failed: _Failed
        try:
            async with asyncio.timeout(self.timeout):
                if via is None:
                    address = await self._resolve(parts.hostname or "", parts.port)
                return await self._fetch(
                    target.url, via, address=address, marker=marker, trace=trace, began=began
                )
        except _Failed as exc:
            failed = exc
        except TimeoutError:
            failed = self._timed_out(via, address, trace, https)
        except httpx.HTTPError as exc:
            failed = self._translate(exc, via, trace, https)
        except (ImportError, ValueError) as exc:
            # ImportError: a socks5 proxy without the socks extra; ValueError: a URL httpx refuses.
            text = f"{type(exc).__name__}: {exc}"
            if via is None:
                failed = _Failed(Outcome.UNREACHABLE, "http", text)
            else:
                failed = _Failed(Outcome.PROXY_FAILED, "proxy", text)
        return self._failed(via, failed, address, began)

    def _timed_out(
        self, via: str | None, address: str | None, trace: _Trace, https: bool
    ) -> _Failed:
        within = f"within {self.timeout:g} s"
        if via is None:
            stage = "resolve" if address is None else trace.stage(https)
            what = {"resolve": "no address", "connect": "no connection"}.get(stage, "no answer")
            return _Failed(Outcome.UNREACHABLE, stage, f"{what} {within}")
        if "connect_tcp" not in trace.done:
            return _Failed(Outcome.PROXY_FAILED, "proxy", f"no connection to the proxy {within}")
        return _Failed(Outcome.UNREACHABLE, "proxy", f"no answer through the proxy {within}")

    def _failed(self, via: str | None, failed: _Failed, address: str | None, began: float) -> Probe:
        detail = failed.detail
        if via is not None:
            detail = redact(detail, self.proxies[via].connect_url())
        latency = (time.perf_counter() - began) * 1000
        return Probe(via, failed.outcome, failed.stage, detail[:300], None, latency, address)

    async def _resolve(self, host: str, port: int | None) -> str:
        try:
            return str(ipaddress.ip_address(host.strip("[]")))
        except ValueError:
            pass
        override = resolve_override(host, self.settings.resolve)
        if override is not None:
            return override
        async with self._resolving:
            try:
                loop = asyncio.get_running_loop()
                return await _getaddrinfo(loop, host, port or 443)
            except socket.gaierror as exc:
                raise _Failed(
                    Outcome.UNREACHABLE, "resolve", f"{host} does not resolve: {exc.strerror}"
                ) from exc
            except OSError as exc:
                raise _Failed(Outcome.UNREACHABLE, "resolve", f"{host}: {exc}") from exc

    async def _fetch(
        self,
        url: str,
        via: str | None,
        *,
        address: str | None,
        marker: str | None,
        trace: _Trace,
        began: float,
    ) -> Probe:
        parts = urlsplit(url)
        headers: dict[str, str] = {}
        extensions: dict[str, Any] = {"trace": trace}
        if address is not None:
            host = f"[{address}]" if ":" in address else address
            port = parts.port or _DEFAULT_PORTS.get(parts.scheme, 443)
            headers["Host"] = parts.netloc.rpartition("@")[2]
            extensions["sni_hostname"] = parts.hostname
            url = urlunsplit((parts.scheme, f"{host}:{port}", parts.path or "/", parts.query, ""))
        clients = self._clients[via]
        client = clients[next(self._turn) % len(clients)]
        async with client.stream("GET", url, headers=headers, extensions=extensions) as response:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) >= BODY_LIMIT:
                    break
        latency = (time.perf_counter() - began) * 1000
        status = response.status_code
        location = response.headers.get("location")
        outcome, detail = classify_answer(status, bytes(body), marker, location)
        stage = "content" if outcome in (Outcome.UNEXPECTED, Outcome.BLOCKED) else "http"
        if via is not None and status == 407:
            outcome, stage = Outcome.PROXY_FAILED, "proxy"
            detail = "the proxy refused: HTTP 407 Proxy Authentication Required"
        elif via is not None and status in (502, 504) and outcome is Outcome.ERROR:
            outcome, stage = Outcome.UNREACHABLE, "proxy"
            detail = f"the proxy could not reach the site ({detail})"
        retry = retry_after_seconds(response.headers.get("retry-after"), time.time())
        days = None
        if trace.cert_not_after is not None:
            days = round((trace.cert_not_after - time.time()) / 86400, 1)
        return Probe(
            via, outcome, stage, detail, status, round(latency, 1), address,
            retry if status in (429, 503) else None, days,
        )  # fmt: skip

    def _translate(  # noqa: PLR0911 - most specific first, one return each
        self, exc: httpx.HTTPError, via: str | None, trace: _Trace, https: bool
    ) -> _Failed:
        """The stage and words for a failed request, most specific first."""
        tls = _tls_problem(exc)
        if tls is not None:
            return _Failed(Outcome.UNREACHABLE, "tls", tls)
        if isinstance(exc, httpx.ProxyError):
            text = str(exc).strip() or type(exc).__name__
            code = text[:3]
            if code.isdigit() and code[0] == "5":
                return _Failed(
                    Outcome.UNREACHABLE, "proxy", f"the proxy could not reach the site ({text})"
                )
            return _Failed(Outcome.PROXY_FAILED, "proxy", f"the proxy refused: {text}")
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            if via is not None and "connect_tcp" not in trace.done:
                return _Failed(Outcome.PROXY_FAILED, "proxy", f"proxy: {_connect_problem(exc)}")
            return _Failed(Outcome.UNREACHABLE, trace.stage(https), _connect_problem(exc))
        if isinstance(exc, httpx.TimeoutException):
            where = " through the proxy" if via is not None else ""
            stage = "proxy" if via is not None else trace.stage(https)
            return _Failed(
                Outcome.UNREACHABLE, stage, f"no answer{where} within {self.timeout:g} s"
            )
        if isinstance(exc, httpx.RemoteProtocolError):
            stage = "proxy" if via is not None else "http"
            return _Failed(Outcome.UNREACHABLE, stage, f"closed without an answer ({exc})")
        text = str(exc).strip() or type(exc).__name__
        return _Failed(Outcome.UNREACHABLE, trace.stage(https), text)
