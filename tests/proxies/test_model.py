"""Proxy addresses: what parses, what is refused and why, and that passwords stay secret."""

from __future__ import annotations

import pytest

from opslib.errors import DataError
from opslib.proxies import Proxy, parse_proxy_url


def test_host_port_defaults_to_http() -> None:
    proxy = parse_proxy_url(" 10.0.0.1:3128 ", country="DE", source="list")
    assert proxy.url == "http://10.0.0.1:3128"
    assert proxy.country == "de"
    assert proxy.connect_url() == proxy.url


def test_credentials_are_secret_but_usable() -> None:
    proxy = parse_proxy_url("socks5://bob:s3cr%40t@Proxy.Example.com:1080")
    assert proxy.url == "socks5://proxy.example.com:1080"
    assert proxy.username == "bob"
    assert proxy.connect_url() == "socks5://bob:s3cr%40t@proxy.example.com:1080"
    for shown in (repr(proxy), str(proxy), proxy.model_dump_json()):
        assert "s3cr" not in shown


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("ftp://h:21", "unknown scheme"),
        ("h:70000", "out of range"),
        ("h:0", "out of range"),
        ("h:port", "invalid port"),
        ("h", "no port"),
        ("http://:80", "no host"),
        ("bad_host!:80", "invalid host"),
        ("http://h:80/path", "no path"),
        ("", "empty"),
    ],
)
def test_bad_addresses_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(DataError, match=problem):
        parse_proxy_url(text)


def test_bad_country_and_no_password_echo() -> None:
    with pytest.raises(DataError, match="country"):
        parse_proxy_url("h:80", country="Germany")
    with pytest.raises(DataError) as caught:
        parse_proxy_url("gopher://u:topsecret@h:80")
    assert "topsecret" not in str(caught.value)


def test_ipv6_host() -> None:
    proxy = Proxy(scheme="http", host="::1", port=8080)
    assert proxy.url == "http://[::1]:8080"
    assert parse_proxy_url("http://[::1]:8080").host == "::1"
