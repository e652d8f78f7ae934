"""Testing proxies for real: each one fetches a judge URL (which echoes what it received), all at
once within a concurrency bound, a per-proxy timeout and an overall deadline."""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from opslib.proxies._model import Proxy
from opslib.redact import redact

__all__ = ["ProbeResult", "probe_proxies"]

_LEAK_HEADERS = ("x-forwarded-for", "via", "forwarded", "x-real-ip")
# A target refusing the proxy (a ban, or the proxy's own auth); a 5xx or 404 is the target's
# trouble, not the proxy's: the proxy delivered the answer.
_REFUSALS = frozenset({401, 403, 407, 429, 451})


@dataclass(frozen=True)
class ProbeResult:
    """What one proxy did: ``status`` is ok, failed, timeout or deadline (never started or
    cut off by the overall deadline)."""

    url: str
    status: str
    latency_ms: float | None = None
    http_status: int | None = None
    exit_ip: str | None = None
    leaks: bool | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


async def _probe(
    proxy: Proxy,
    judge_url: str,
    timeout: float,
    own_ips: frozenset[str],
    targets: Sequence[str],
    *,
    tls: ssl.SSLContext,
) -> ProbeResult:
    begin = time.perf_counter()
    try:
        async with httpx.AsyncClient(
            # TLS to the proxy itself only for https proxies (httpcore refuses it otherwise).
            proxy=httpx.Proxy(
                proxy.connect_url(), ssl_context=tls if proxy.scheme == "https" else None
            ),
            verify=tls,
            timeout=timeout,
            trust_env=False,
        ) as client:
            response = await asyncio.wait_for(client.get(judge_url), timeout)
            for target in targets:
                reached = await asyncio.wait_for(client.get(target), timeout)
                if reached.status_code in _REFUSALS:
                    return ProbeResult(
                        proxy.url, "failed", http_status=reached.status_code,
                        error=f"target {target} refused it: HTTP {reached.status_code}",
                    )  # fmt: skip
    except (TimeoutError, httpx.TimeoutException):
        return ProbeResult(proxy.url, "timeout", error=f"no answer within {timeout:g} s")
    except (httpx.HTTPError, ImportError, ValueError) as exc:
        # ImportError: socks5 without the socks extra; ValueError: a URL httpx refuses.
        message = redact(f"{type(exc).__name__}: {exc}", proxy.connect_url())[:200]
        return ProbeResult(proxy.url, "failed", error=message)
    latency = (time.perf_counter() - begin) * 1000
    if response.status_code != 200:
        return ProbeResult(
            proxy.url, "failed", latency, response.status_code,
            error=f"judge answered HTTP {response.status_code}",
        )  # fmt: skip
    try:
        echoed = json.loads(response.content)
        exit_ip = str(echoed["client_ip"])
        headers = {str(k).lower(): str(v) for k, v in dict(echoed.get("headers", {})).items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        return ProbeResult(
            proxy.url, "failed", latency, 200, error="judge answer is not JSON with a client_ip"
        )
    seen = " ".join(headers.get(h, "") for h in _LEAK_HEADERS)
    leaks = exit_ip in own_ips or any(ip in seen for ip in own_ips) or bool(seen.strip())
    return ProbeResult(proxy.url, "ok", round(latency, 1), 200, exit_ip, leaks)


async def _own_ips(judge_url: str, timeout: float) -> frozenset[str]:
    """Our address as the judge sees it without a proxy (plus loopback names)."""
    found = {"127.0.0.1"} if "127.0.0.1" in judge_url or "localhost" in judge_url else set()
    try:
        async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
            response = await client.get(judge_url)
        found.add(str(json.loads(response.content)["client_ip"]))
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        pass  # the judge may be reachable through proxies only: leaks then show as headers
    return frozenset(found)


async def probe_proxies(
    proxies: Sequence[Proxy],
    judge_url: str,
    *,
    timeout: float,
    deadline: float,
    concurrency: int,
    targets: Sequence[str] = (),
    progress: Callable[[ProbeResult], None] | None = None,
) -> list[ProbeResult]:
    """Test every proxy; results in the order of ``proxies``. Never takes much longer than
    ``deadline`` seconds: what is unfinished then is reported as ``deadline``."""
    own = await _own_ips(judge_url, timeout)
    gate = asyncio.Semaphore(concurrency)
    # One TLS context for every client: building one costs ~50 ms of CPU, which for a thousand
    # proxies would starve the event loop and turn healthy proxies into timeouts.
    tls = httpx.create_ssl_context()

    async def one(proxy: Proxy) -> ProbeResult:
        async with gate:
            result = await _probe(proxy, judge_url, timeout, own, targets, tls=tls)
        if progress is not None:
            progress(result)
        return result

    tasks = [asyncio.create_task(one(p)) for p in proxies]
    if tasks:
        await asyncio.wait(tasks, timeout=deadline)
    results = []
    for proxy, task in zip(proxies, tasks, strict=True):
        if task.done() and not task.cancelled() and task.exception() is None:
            results.append(task.result())
        elif task.done() and not task.cancelled():
            # A bug or an unexpected client error: say so, do not pass it off as the deadline.
            error = redact(
                f"{type(task.exception()).__name__}: {task.exception()}", proxy.connect_url()
            )
            results.append(ProbeResult(proxy.url, "failed", error=error[:200]))
        else:
            task.cancel()
            results.append(ProbeResult(proxy.url, "deadline", error=f"over {deadline:g} s"))
    await asyncio.gather(*tasks, return_exceptions=True)
    return results
