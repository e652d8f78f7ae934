"""probe_proxies against real proxies on 127.0.0.1: HTTP and SOCKS5, leaks, timeouts, deadline,
targets, the concurrency bound, and no password in any result."""

from __future__ import annotations

import asyncio
import gc
import ssl
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import trustme

from opslib.proxies import ProbeResult, Proxy, parse_proxy_url, probe_proxies
from tests.proxies.servers import EXIT_IP, ProxyServers, serving
from tests.support import free_port

SECRET = "pa:ss@w0rd-secret"


@pytest.fixture
def servers() -> Iterator[ProxyServers]:
    with serving() as started:
        yield started


def _probe(
    servers: ProxyServers,
    proxies: Sequence[Proxy],
    *,
    timeout: float = 2.0,
    deadline: float = 10.0,
    concurrency: int = 50,
    targets: Sequence[str] = (),
) -> list[ProbeResult]:
    return asyncio.run(
        probe_proxies(
            proxies, servers.judge_url, timeout=timeout, deadline=deadline,
            concurrency=concurrency, targets=targets,
        )
    )  # fmt: skip


def _proxy(url: str) -> Proxy:
    return parse_proxy_url(url)


def test_clean_and_leaking_http_proxies(servers: ProxyServers) -> None:
    clean = _proxy(f"127.0.0.1:{servers.http_proxy('ok')}")
    leaky = _proxy(f"127.0.0.1:{servers.http_proxy('leaking')}")
    first, second = _probe(servers, [clean, leaky])
    assert (first.status, first.http_status, first.exit_ip, first.leaks) == (
        "ok", 200, EXIT_IP, False,
    )  # fmt: skip
    assert first.latency_ms is not None
    assert first.latency_ms > 0
    assert second.ok
    assert second.leaks is True


# httpcore 1.0.9 leaves the socket of a failed SOCKS5 handshake to the garbage collector.
@pytest.mark.filterwarnings("ignore:unclosed:ResourceWarning")
def test_socks5_with_and_without_credentials(servers: ProxyServers) -> None:
    user = "bob"
    good = servers.socks5_proxy((user, SECRET))
    wrong = servers.socks5_proxy((user, "another"))
    anonymous = servers.socks5_proxy()
    quoted = SECRET.replace(":", "%3A").replace("@", "%40")
    results = _probe(
        servers,
        [
            _proxy(f"socks5://{user}:{quoted}@127.0.0.1:{good}"),
            _proxy(f"socks5://{user}:{quoted}@127.0.0.1:{wrong}"),
            _proxy(f"socks5://127.0.0.1:{anonymous}"),
        ],
    )
    assert [r.status for r in results] == ["ok", "failed", "ok"], results
    assert results[0].exit_ip == EXIT_IP
    assert results[0].leaks is False
    assert results[1].error
    assert all(SECRET not in repr(r) and quoted not in repr(r) for r in results)
    gc.collect()  # while the warning filter holds


@pytest.mark.filterwarnings("ignore:unclosed:ResourceWarning")
def test_socks5_black_hole_times_out(servers: ProxyServers) -> None:
    # httpcore puts no timeout on the SOCKS5 handshake (encode/httpcore#1089): the tester must.
    hole = _proxy(f"socks5://127.0.0.1:{servers.http_proxy('blackhole')}")
    began = time.monotonic()
    (result,) = _probe(servers, [hole], timeout=0.5)
    assert result.status == "timeout"
    assert time.monotonic() - began < 2.0
    gc.collect()


def test_http_proxy_credentials_are_sent_and_never_shown(servers: ProxyServers) -> None:
    port = servers.http_proxy("ok", ("alice", SECRET))
    quoted = SECRET.replace(":", "%3A").replace("@", "%40")
    good, bad = _probe(
        servers,
        [
            _proxy(f"http://alice:{quoted}@127.0.0.1:{port}"),
            _proxy(f"http://alice:wrong-{quoted}@127.0.0.1:{port}"),
        ],
    )
    assert good.ok, good
    assert (bad.status, bad.http_status) == ("failed", 407)
    assert SECRET not in repr(bad)
    assert quoted not in repr(bad)


def test_dead_and_black_hole_proxies_fail_within_the_timeout(servers: ProxyServers) -> None:
    dead = _proxy(f"127.0.0.1:{free_port()}")
    hole = _proxy(f"127.0.0.1:{servers.http_proxy('blackhole')}")
    began = time.monotonic()
    dead_result, hole_result = _probe(servers, [dead, hole], timeout=0.5)
    assert time.monotonic() - began < 2.0
    assert dead_result.status == "failed"
    assert "Connect" in dead_result.error
    assert hole_result.status == "timeout"


def test_overall_deadline_cuts_off_what_is_unfinished(servers: ProxyServers) -> None:
    holes = [_proxy(f"127.0.0.1:{servers.http_proxy('blackhole')}") for _ in range(3)]
    fast = _proxy(f"127.0.0.1:{servers.http_proxy('ok')}")
    began = time.monotonic()
    results = _probe(servers, [*holes, fast], timeout=5.0, deadline=0.8)
    assert time.monotonic() - began < 2.5
    assert [r.status for r in results] == ["deadline"] * 3 + ["ok"]


def test_concurrency_bound_holds(servers: ProxyServers) -> None:
    slow = [_proxy(f"127.0.0.1:{servers.http_proxy('slow')}") for _ in range(8)]
    results = _probe(servers, slow, concurrency=3)
    assert all(r.ok for r in results)
    assert servers.peak_in_flight == 3


def test_targets_are_fetched_through_the_proxy(servers: ProxyServers) -> None:
    proxy = _proxy(f"127.0.0.1:{servers.http_proxy('ok')}")
    (passed,) = _probe(servers, [proxy], targets=[servers.target_url])
    assert passed.ok
    servers.target_status = 403
    (refused,) = _probe(servers, [proxy], targets=[servers.target_url])
    assert (refused.status, refused.http_status) == ("failed", 403)
    assert servers.target_url in refused.error
    servers.target_status = 503  # the target's trouble: the proxy delivered the answer
    (delivered,) = _probe(servers, [proxy], targets=[servers.target_url])
    assert delivered.ok


def test_a_judge_that_is_not_json_fails_the_proxy(servers: ProxyServers) -> None:
    proxy = _proxy(f"127.0.0.1:{servers.http_proxy('ok')}")
    result = asyncio.run(
        probe_proxies([proxy], servers.target_url, timeout=2, deadline=5, concurrency=1)
    )[0]
    assert (result.status, result.error) == (
        "failed",
        "judge answer not understood (JSON without client_ip, origin or headers): not opslib's"
        " JSON, httpbin's JSON or a header echo",
    )


def test_https_proxy_speaks_tls_and_is_verified(
    servers: ProxyServers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    authority = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_tls)
    port = servers.http_proxy("ok", tls=server_tls)
    proxy = _proxy(f"https://127.0.0.1:{port}")
    (untrusted,) = _probe(servers, [proxy])
    assert untrusted.status == "failed"
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted.error
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # how an operator trusts a private CA
    (trusted,) = _probe(servers, [proxy])
    assert trusted.ok, trusted
    assert trusted.exit_ip == EXIT_IP
