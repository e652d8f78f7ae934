"""The lab worker's failure lines read as a scraper's logs do (a colleague mines them)."""

from __future__ import annotations

from opslib.lab._worker import _address, _Attempt
from opslib.proxies import Outcome

_FAIL = Outcome("failure", 10, "x")


def test_failure_reasons() -> None:
    def attempt(outcome: str, status: int | None, error: str, wait: float | None = None) -> str:
        return _Attempt(outcome, status, 10, b"", error, _FAIL, wait).reason()

    assert attempt("banned", 429, "HTTP 429", 5.0) == "HTTP 429 Too Many Requests (retry after 5s)"
    assert attempt("banned", 403, "HTTP 403") == "HTTP 403 Forbidden (banned)"
    assert attempt("banned", 200, "HTTP 200") == "HTTP 200 OK: a block page (banned)"
    assert attempt("http_error", 503, "HTTP 503") == "HTTP 503 Service Unavailable"
    assert attempt("timeout", None, "ConnectTimeout") == "ConnectTimeout"
    assert attempt("proxy_error", None, "ProxyError: 502") == "ProxyError: 502"
    assert attempt("http_error", 599, "HTTP 599") == "HTTP 599"
    assert _address("http://127.0.0.1:30012") == "127.0.0.1:30012"
