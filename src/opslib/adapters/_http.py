"""HTTP plumbing shared by the httpx adapters: bounded retries, capped bodies, one error map."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import tenacity

from opslib.errors import ConfigError, DataError, DependencyError, UnreachableError
from opslib.redact import redact

__all__ = ["MAX_BODY_BYTES", "Reply", "fetch", "one_line"]

MAX_BODY_BYTES = 20 * 1024 * 1024
_ATTEMPTS = 3
_RETRY_BUDGET_SECONDS = 2.0
# Worth another try: nothing was processed, so repeating the GET cannot do harm.
_TRANSIENT = (httpx.ConnectError, httpx.RemoteProtocolError)


@dataclass(frozen=True)
class Reply:
    """A complete HTTP answer, body read in full (and no larger than the cap)."""

    status: int
    body: bytes
    content_type: str


def one_line(text: str, *secrets: str, limit: int = 200) -> str:
    """``text`` on one line, shortened to ``limit`` characters, secrets redacted."""
    flat = redact(" ".join(text.split()), *secrets)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def fetch(
    client: httpx.Client,
    url: str,
    *,
    dependency: str,
    timeout: float,
    params: Mapping[str, str] | None = None,
    max_bytes: int = MAX_BODY_BYTES,
) -> Reply:
    """GET ``url``; retry connect errors and 5xx answers a few times; raise only OpsErrors.

    ``timeout`` bounds each attempt as a whole (slow trickles included); ``dependency`` names
    the server in error messages and must already be free of secrets.
    """
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(_ATTEMPTS)
        | tenacity.stop_after_delay(_RETRY_BUDGET_SECONDS),
        wait=tenacity.wait_exponential(multiplier=0.1, max=0.5),
        retry=tenacity.retry_if_exception_type(_TRANSIENT)
        | tenacity.retry_if_result(lambda reply: reply.status >= 500),
        retry_error_callback=_last_outcome,
    )
    with _translate(dependency, url, timeout):
        reply: Reply = retrying(
            _get_once,
            client,
            url,
            params=params,
            dependency=dependency,
            timeout=timeout,
            max_bytes=max_bytes,
        )
    return reply


def _last_outcome(state: tenacity.RetryCallState) -> Reply:
    """When retries run out: the last reply, or the last exception raised again."""
    assert state.outcome is not None
    reply: Reply = state.outcome.result()
    return reply


def _get_once(
    client: httpx.Client,
    url: str,
    *,
    params: Mapping[str, str] | None,
    dependency: str,
    timeout: float,
    max_bytes: int,
) -> Reply:
    deadline = time.monotonic() + timeout
    with client.stream("GET", url, params=params, timeout=timeout) as response:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise DataError(
                f"{dependency}: body of {int(declared)} bytes exceeds the {max_bytes}-byte cap"
            )
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise DataError(f"{dependency}: body exceeds the {max_bytes}-byte cap")
            if time.monotonic() > deadline:
                raise UnreachableError(dependency, f"answer not complete within {timeout:g} s")
            chunks.append(chunk)
        return Reply(
            response.status_code, b"".join(chunks), response.headers.get("content-type", "")
        )


@contextmanager
def _translate(dependency: str, url: str, timeout: float) -> Iterator[None]:
    try:
        yield
    except httpx.TimeoutException as exc:
        raise UnreachableError(
            dependency, f"no answer within {timeout:g} s ({type(exc).__name__})"
        ) from exc
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise ConfigError(
            f"{dependency}: bad URL {one_line(url)}: {one_line(str(exc), url)}"
        ) from exc
    except httpx.TransportError as exc:
        raise UnreachableError(dependency, one_line(str(exc) or type(exc).__name__, url)) from exc
    except httpx.DecodingError as exc:
        raise DataError(f"{dependency}: undecodable body: {one_line(str(exc), url)}") from exc
    except httpx.HTTPError as exc:
        raise DependencyError(dependency, one_line(str(exc) or type(exc).__name__, url)) from exc
