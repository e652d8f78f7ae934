"""Testing proxies for real: each one fetches a judge URL (which echoes what it received), all at
once within a concurrency bound, a per-proxy timeout and an overall deadline.

The judge may answer in any common format, told from the answer itself (see
:mod:`opslib.proxies._judges`): opslib's JSON ``{"client_ip", "headers"}`` (the lab's
``/judge``), httpbin's ``/get``, ``/headers`` or ``/ip`` (``origin``, ``headers``), or a
plain-text or HTML header echo (azenv: ``REMOTE_ADDR = 1.2.3.4``, ``HTTP_VIA = ...``; or
``Header-Name: value`` lines). Each gives the exit IP (when the judge names it) and whether the
client leaks: a Via header, or one of our own addresses (as the judge sees us without a
proxy) in the origin or in X-Forwarded-For, Forwarded, X-Real-IP, Client-IP and the like. A
judge behind a reverse proxy that names the connecting address in X-Forwarded-For / X-Real-IP
is recognised from the direct answer, and the exit IP taken from there. An answer in none of
these formats fails the proxy with the reason.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from opslib.errors import DataError
from opslib.proxies._judges import JudgeBaseline, read_judge_answer
from opslib.proxies._model import Proxy
from opslib.redact import redact

__all__ = ["ProbeResult", "probe_proxies"]

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
    baseline: JudgeBaseline,
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
        answer = read_judge_answer(response.headers.get("content-type", ""), response.content)
    except DataError as exc:
        return ProbeResult(proxy.url, "failed", latency, 200, error=str(exc))
    exit_ip, leaks = baseline.exit_ip(answer), baseline.leaks(answer)
    return ProbeResult(proxy.url, "ok", round(latency, 1), 200, exit_ip, leaks)


async def _baseline(judge_url: str, timeout: float) -> JudgeBaseline:
    """What the judge sees of us without a proxy (our loopback name for a judge here)."""
    local = "127.0.0.1" in judge_url or "localhost" in judge_url
    also = frozenset({"127.0.0.1"} if local else ())
    try:
        async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
            response = await client.get(judge_url)
        if response.status_code == 200:
            answer = read_judge_answer(response.headers.get("content-type", ""), response.content)
            return JudgeBaseline.learn(answer, also)
    except (httpx.HTTPError, DataError):
        pass  # the judge may be reachable through proxies only: see JudgeBaseline.leaks
    return JudgeBaseline.learn(None, also)


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
    baseline = await _baseline(judge_url, timeout)
    gate = asyncio.Semaphore(concurrency)
    # One TLS context for every client: building one costs ~50 ms of CPU, which for a thousand
    # proxies would starve the event loop and turn healthy proxies into timeouts.
    tls = httpx.create_ssl_context()

    async def one(proxy: Proxy) -> ProbeResult:
        async with gate:
            result = await _probe(proxy, judge_url, timeout, baseline, targets, tls=tls)
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
