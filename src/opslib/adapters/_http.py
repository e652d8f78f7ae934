"""HTTP plumbing shared by the httpx adapters: bounded retries, capped bodies, one error map,
and streamed downloads of files that may be large (proxy lists)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import unquote

import httpx
import tenacity

from opslib.errors import ConfigError, DataError, DependencyError, UnreachableError
from opslib.redact import redact

__all__ = ["MAX_BODY_BYTES", "MAX_DOWNLOAD_BYTES", "Reply", "download", "fetch", "one_line"]

MAX_BODY_BYTES = 20 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 200 * 1024 * 1024
_MAX_REDIRECTS = 5
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
def _translate(
    dependency: str, url: str, timeout: float, connect_timeout: float | None = None
) -> Iterator[None]:
    try:
        yield
    except httpx.TimeoutException as exc:
        if connect_timeout is not None and isinstance(exc, httpx.ConnectTimeout):
            raise UnreachableError(
                dependency, f"no connection within {connect_timeout:g} s"
            ) from exc
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


@contextmanager
def download(
    url: str,
    *,
    connect_timeout: float,
    read_timeout: float,
    deadline: float = 600.0,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
    max_redirects: int = _MAX_REDIRECTS,
) -> Iterator[Iterator[bytes]]:
    """Stream the body of ``url`` as chunks; raise only OpsErrors, even while iterating.

    ``read_timeout`` bounds each wait for data, ``deadline`` the whole download, ``max_bytes``
    its size. Credentials in the URL are sent as Basic auth (so the client never logs them)
    and appear in no message; redirects are followed ``max_redirects`` times, to http(s)
    only, never from https down to http, and credentials stay with the origin they were
    given for.
    """
    target, auth = _split_credentials(url)
    shown = one_line(url, url)  # the dependency name in messages: no password in it
    timeouts = httpx.Timeout(read_timeout, connect=connect_timeout)
    with (
        _translate(shown, url, read_timeout, connect_timeout),
        httpx.Client(timeout=timeouts, trust_env=False) as client,
    ):
        response = _follow(client, client.build_request("GET", target), auth, shown, max_redirects)
        try:
            if response.status_code != 200:
                raise DependencyError(
                    shown, f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
                )
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise DataError(f"{shown}: {int(declared)} bytes, more than {_size(max_bytes)}")
            # Chunks as they arrive (not gathered to a size), so the deadline sees a trickle.
            yield _bounded(response.iter_bytes(), shown, max_bytes, deadline)
        finally:
            response.close()


def _split_credentials(url: str) -> tuple[httpx.URL, httpx.BasicAuth | None]:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ConfigError(f"bad URL {one_line(url, url)}: {one_line(str(exc), url)}") from exc
    if parsed.scheme not in ("http", "https"):
        raise ConfigError(f"bad URL {one_line(url, url)}: only http and https can be downloaded")
    if not (parsed.username or parsed.password):
        return parsed, None
    auth = httpx.BasicAuth(unquote(parsed.username), unquote(parsed.password))
    return parsed.copy_with(username=None, password=None), auth


def _follow(
    client: httpx.Client,
    request: httpx.Request,
    auth: httpx.BasicAuth | None,
    shown: str,
    max_redirects: int,
) -> httpx.Response:
    """Send ``request``, following redirects by hand so that each hop is checked first."""
    origin = request.url
    for _hop in range(max_redirects + 1):
        same_origin = (request.url.scheme, request.url.host, request.url.port) == (
            origin.scheme, origin.host, origin.port,
        )  # fmt: skip
        # httpx builds each redirect request from the last one (Authorization kept only on the
        # same origin); give the credentials to the first origin only.
        response = client.send(request, auth=auth if same_origin else None, stream=True)
        if not response.has_redirect_location or response.next_request is None:
            return response
        following = response.next_request
        response.close()
        if following.url.scheme not in ("http", "https"):
            raise DependencyError(shown, f"redirected to a {following.url.scheme} URL")
        if request.url.scheme == "https" and following.url.scheme == "http":
            raise DependencyError(shown, "redirected from https to plain http: refused")
        request = following
    raise DependencyError(shown, f"more than {max_redirects} redirects")


def _bounded(
    chunks: Iterator[bytes], shown: str, max_bytes: int, deadline: float
) -> Iterator[bytes]:
    end = time.monotonic() + deadline
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > max_bytes:
            raise DataError(f"{shown}: more than {_size(max_bytes)}")
        if time.monotonic() > end:
            raise UnreachableError(shown, f"download not complete within {deadline:g} s")
        yield chunk


def _size(limit: int) -> str:
    return f"{limit >> 20} MB" if limit >= 1 << 20 and limit % (1 << 20) == 0 else f"{limit} bytes"
