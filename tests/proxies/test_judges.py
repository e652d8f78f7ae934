"""The tester against judges of every common shape, each a real server on 127.0.0.1: opslib's
JSON, httpbin (/get, /headers, /ip), an azenv page, a plain header echo, a judge behind a
reverse proxy; clean and leaking proxies through each, and an answer in no known shape."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import pytest

from opslib.errors import DataError
from opslib.proxies import JudgeAnswer, JudgeBaseline, ProbeResult, probe_proxies, read_judge_answer
from opslib.proxies import parse_proxy_url as _proxy
from tests.proxies.servers import EXIT_IP, ProxyServers, serving


@pytest.fixture
def servers() -> Iterator[ProxyServers]:
    with serving() as started:
        yield started


def _clean_and_leaking(servers: ProxyServers, judge_url: str) -> tuple[ProbeResult, ProbeResult]:
    clean = _proxy(f"127.0.0.1:{servers.http_proxy('ok')}")
    leaking = _proxy(f"127.0.0.1:{servers.http_proxy('leaking')}")  # XFF 127.0.0.1, Via
    first, second = asyncio.run(
        probe_proxies([clean, leaking], judge_url, timeout=2, deadline=5, concurrency=2)
    )
    return first, second


@pytest.mark.parametrize(
    ("shape", "path", "exit_ip"),
    [
        ("opslib", "", EXIT_IP),
        ("httpbin", "/get", EXIT_IP),
        ("httpbin", "/ip", EXIT_IP),
        # /headers names no address, and hides forwarding headers unless show_env=1.
        ("httpbin", "/headers?show_env=1", None),
        ("azenv", "/azenv.php", EXIT_IP),
        ("headers", "/echo", EXIT_IP),
    ],
)
def test_every_judge_shape_gives_exit_ip_and_leaks(
    servers: ProxyServers, shape: str, path: str, exit_ip: str | None
) -> None:
    url = servers.judge_url if shape == "opslib" else servers.judge(shape, path)
    clean, leaking = _clean_and_leaking(servers, url)
    assert (clean.status, clean.exit_ip, clean.leaks) == ("ok", exit_ip, False), clean
    assert (leaking.status, leaking.leaks) == ("ok", True), leaking


def test_httpbin_hides_via_but_its_origin_shows_the_leak(servers: ProxyServers) -> None:
    # httpbin drops X-Forwarded-For and Via from "headers"; "origin" carries the forwarded IP.
    url = servers.judge("httpbin", "/get")
    leaking = _proxy(f"127.0.0.1:{servers.http_proxy('leaking')}")
    (result,) = asyncio.run(probe_proxies([leaking], url, timeout=2, deadline=5, concurrency=1))
    assert result.leaks is True
    assert result.exit_ip == "127.0.0.1"  # httpbin names the forwarded address, ours


def test_a_judge_behind_a_reverse_proxy(servers: ProxyServers) -> None:
    # nginx in front adds X-Real-IP and X-Forwarded-For naming the proxy: that is no leak, and
    # the exit IP comes from there (REMOTE_ADDR is the reverse proxy's own address).
    url = servers.judge("azenv", "/azenv.php", behind_reverse_proxy=True)
    clean, leaking = _clean_and_leaking(servers, url)
    assert (clean.status, clean.exit_ip, clean.leaks) == ("ok", EXIT_IP, False), clean
    assert (leaking.exit_ip, leaking.leaks) == (EXIT_IP, True), leaking


def test_an_unrecognised_answer_fails_each_proxy_with_the_reason(servers: ProxyServers) -> None:
    url = servers.judge("garbage", "/")
    proxies = [_proxy(f"127.0.0.1:{servers.http_proxy('ok')}") for _ in range(2)]
    results = asyncio.run(probe_proxies(proxies, url, timeout=2, deadline=5, concurrency=2))
    assert [r.status for r in results] == ["failed", "failed"]
    assert results[0].error.startswith("judge answer not understood (text/html, ")
    assert "header echo" in results[0].error


@pytest.mark.parametrize(
    ("content_type", "body", "shape", "origin"),
    [
        ("application/json", b'{"client_ip": "1.2.3.4", "headers": {}}', "opslib", ("1.2.3.4",)),
        ("application/json", b'{"origin": "9.9.9.9, 1.2.3.4"}', "httpbin", ("9.9.9.9", "1.2.3.4")),
        ("", b'{"headers": {"Host": "judge"}}', "httpbin", ()),
        ("text/plain", b"REMOTE_ADDR = 1.2.3.4\nHTTP_HOST = judge\n", "header echo", ("1.2.3.4",)),
        ("text/plain", b"Host: judge\nUser-Agent: x\n", "header echo", ()),
    ],
)
def test_shapes_are_told_from_the_answer(
    content_type: str, body: bytes, shape: str, origin: tuple[str, ...]
) -> None:
    answer = read_judge_answer(content_type, body)
    assert (answer.format, answer.origin) == (shape, origin)


@pytest.mark.parametrize(
    ("content_type", "body", "why"),
    [
        ("application/json", b"[1, 2]", "not an object"),
        ("application/json", b"{broken", "not valid JSON"),
        ("application/json", b'{"status": "ok"}', "without client_ip, origin or headers"),
        ("application/json", b'{"client_ip": "1.2.3.4", "headers": []}', "headers are not"),
        ("text/html", b"<p>Note: maintenance tonight</p>", "not understood (text/html"),
        ("text/plain", b"", "not understood (text/plain, 0 bytes)"),
    ],
)
def test_unknown_answers_say_why(content_type: str, body: bytes, why: str) -> None:
    with pytest.raises(DataError, match=re.escape(why)):
        read_judge_answer(content_type, body)


@pytest.mark.parametrize(
    ("headers", "leaks"),
    [
        ({"x-forwarded-for": "10.9.9.9"}, False),  # an address, not ours
        ({"client-ip": "192.0.2.7"}, True),
        ({"forwarded": 'for="[2001:db8::7]:4711";proto=http'}, True),
        ({"x-real-ip": "192.0.2.70"}, False),  # 192.0.2.7 is no substring match
        ({"via": "1.1 squid"}, True),
    ],
)
def test_leak_rules(headers: dict[str, str], leaks: bool) -> None:
    answer = JudgeAnswer("opslib", ("203.0.113.5",), headers)
    ours = JudgeBaseline(frozenset({"192.0.2.7", "2001:db8::7"}))
    assert ours.leaks(answer) is leaks
    # Without a baseline, any forwarded address other than the exit IP counts as a leak.
    assert JudgeBaseline().leaks(answer) is (bool(answer.forwarded()) or "via" in headers)
