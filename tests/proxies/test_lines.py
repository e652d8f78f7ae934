"""Proxy lists as they are published (fixtures in tests/proxies/lists/): free lists with a prose
header, checker output, provider CSV and ip:port:user:pass exports; JSON lines that must not
crash or mangle credentials; and properties of the line parser (hypothesis)."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opslib.proxies import SCHEMES, ImportResult, parse_proxy_lines, read_proxy_list

LISTS = Path(__file__).parent / "lists"


def _read(name: str) -> ImportResult:
    return read_proxy_list(str(LISTS / name))


def _countries(result: ImportResult) -> dict[str, str | None]:
    return {url: p.country for url, p in result.proxies.items()}


def test_free_list_with_prose_and_country_codes() -> None:
    result = _read("free-list.txt")
    assert _countries(result) == {
        "http://203.0.113.10:8080": "us",
        "http://198.51.100.7:3128": "de",
        "http://192.0.2.44:80": "fr",
        "http://203.0.113.11:3128": "gb",
    }
    assert [str(p) for p in result.problems] == ["free-list.txt:10: port out of range 1-65535"]
    assert (result.bad_lines, result.skipped) == (1, 5)  # 4 prose lines above, 1 below


def test_checker_output_keeps_every_proxy_and_ignores_the_verdict() -> None:
    result = _read("checker.txt")
    assert sorted(result.proxies) == [
        "http://203.0.113.20:8080",
        "http://203.0.113.21:3128",
        "http://203.0.113.22:80",  # "OK" is a verdict, not a country
        "http://203.0.113.23:1080",  # a checker said FAILED: the tester judges it
    ]
    assert all(p.country is None for p in result.proxies.values())
    assert [str(p) for p in result.problems] == ["checker.txt:8: invalid host '999.0.113.24'"]
    assert result.skipped == 3  # two comments and "Done in 4.2s"


def test_provider_csv_with_extra_columns() -> None:
    result = _read("provider.csv")
    assert _countries(result) == {
        "http://203.0.113.30:8080": "us",
        "http://203.0.113.31:3128": "nl",
        "http://203.0.113.32:80": None,
    }
    assert [str(p) for p in result.problems] == ["provider.csv:7: port 0 out of range 1-65535"]
    assert result.skipped == 3  # the prose line, the header, the "Total" footer


def test_ip_port_user_pass_export_keeps_the_secret_secret() -> None:
    result = _read("provider-auth.txt")
    first = result.proxies["http://203.0.113.40:10000"]
    assert (first.username, first.connect_url()) == (
        "cust-1184",
        "http://cust-1184:pw-alpha-s3cret@203.0.113.40:10000",
    )
    assert len(result.proxies) == 2
    assert [str(p) for p in result.problems] == ["provider-auth.txt:6: invalid port"]
    assert "s3cret" not in repr(result)


@pytest.mark.parametrize(
    ("line", "url", "country"),
    [
        ("203.0.113.1 8080 GB United Kingdom elite", "http://203.0.113.1:8080", "gb"),
        ("203.0.113.1\t8080\tNL", "http://203.0.113.1:8080", "nl"),
        ("socks5://203.0.113.2:1080 JP", "socks5://203.0.113.2:1080", "jp"),
        ("203.0.113.3:80,de", "http://203.0.113.3:80", "de"),
        ("203.0.113.3:80 120 ms", "http://203.0.113.3:80", None),  # lowercase: no country
        ("203.0.113.3:80,Germany", "http://203.0.113.3:80", None),  # a name is ignored
        ("[2001:db8::1]:3128 SE-A", "http://[2001:db8::1]:3128", "se"),
        ("proxy-7.example.net:3128", "http://proxy-7.example.net:3128", None),
    ],
)
def test_text_shapes(line: str, url: str, country: str | None) -> None:
    result = parse_proxy_lines([line.encode()], "x")
    assert _countries(result) == {url: country}, result.problems


@pytest.mark.parametrize(
    "line",
    ["Updated: 2024-05-01", "12:30:45 run finished", "admin@example.com for help",
     "Total:many", "IP Address Port Code Country", "// generated", "1. copy the lines below"],
)  # fmt: skip
def test_prose_is_skipped_quietly(line: str) -> None:
    result = parse_proxy_lines([line.encode()], "x")
    assert (len(result.proxies), result.bad_lines, result.skipped) == (0, 0, 1)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"a": ' + "[" * 1500 + "]" * 1500 + "}", "JSON nested too deeply"),
        ('{"url": "http://203.0.113.1:80", "username": 42, "password": "p"}', "username must"),
        ('{"url": "http://203.0.113.1:80", "username": "u", "password": 7}', "password must be"),
        ('{"url": "http://203.0.113.1:80", "password": "p"}', "a password without a username"),
        ('{"host": "203.0.113.1", "port": true}', "port must be a number"),
        ('{"url": ["http://203.0.113.1:80"]}', "url must be a string"),
        ("http://[v1.fe]:80", "invalid host"),
        ("http://[203.0.113.1]:80", "invalid host"),
        ("203.0.113.1:80:user", "host:port:user:password"),
        ("203.0.113.1", "no port"),
    ],
)
def test_broken_proxies_are_line_problems(line: str, problem: str) -> None:
    assert len(line.encode()) < 4096
    result = parse_proxy_lines([line.encode()], "x")
    assert (len(result.proxies), result.bad_lines) == (0, 1)
    assert problem in result.problems[0].problem


def test_json_null_password_is_no_password() -> None:
    line = '{"host": "203.0.113.1", "port": "8080", "username": "bob", "password": null}'
    (proxy,) = parse_proxy_lines([line.encode()], "x").proxies.values()
    assert (proxy.username, proxy.password) == ("bob", None)
    assert proxy.connect_url() == "http://bob:@203.0.113.1:8080"


def test_json_credentials_are_not_mangled_into_the_url() -> None:
    item = {"url": "http://203.0.113.1:80", "username": "a@b:c", "password": "p/w@x:y"}
    (proxy,) = parse_proxy_lines([json.dumps(item).encode()], "x").proxies.values()
    assert (proxy.url, proxy.username) == ("http://203.0.113.1:80", "a@b:c")
    assert proxy.password is not None
    assert proxy.password.get_secret_value() == "p/w@x:y"


# Properties of the line parser.

_PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_PROPERTY
@given(st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_any_line_is_a_proxy_a_problem_or_a_skip(text: str) -> None:
    raw = text.replace("\n", " ").encode()
    result = parse_proxy_lines([raw], "fuzz")
    outcomes = len(result.proxies) + result.bad_lines + result.skipped
    blank = not raw.decode("utf-8", "replace").lstrip("\ufeff").strip()
    assert outcomes == (0 if blank else 1)


_LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
_HOSTS = st.one_of(
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
    st.lists(_LABEL, min_size=1, max_size=4)
    .map(".".join)
    .filter(lambda h: not h.rpartition(".")[2].isdigit()),
)
_SECRETS = st.text(st.characters(codec="utf-8"), max_size=20)


@_PROPERTY
@given(
    scheme=st.sampled_from(SCHEMES),
    host=_HOSTS,
    port=st.integers(1, 65535),
    login=st.none() | st.tuples(_SECRETS.filter(bool), _SECRETS),
    country=st.none() | st.from_regex(r"[a-z]{2}", fullmatch=True),
)
def test_a_valid_proxy_url_round_trips(
    scheme: str, host: str, port: int, login: tuple[str, str] | None, country: str | None
) -> None:
    auth = f"{quote(login[0], safe='')}:{quote(login[1], safe='')}@" if login else ""
    line = f"{scheme}://{auth}{host}:{port}" + (f",{country}" if country else "")
    result = parse_proxy_lines([line.encode()], "x")
    assert result.problems == []
    (proxy,) = result.proxies.values()
    assert proxy.url == f"{scheme}://{host}:{port}"
    assert proxy.country == country
    if host.startswith("["):
        assert ipaddress.ip_address(proxy.host) == ipaddress.ip_address(host.strip("[]"))
    assert proxy.username == (login[0] if login else None)
    secret = proxy.password.get_secret_value() if proxy.password is not None else None
    assert secret == (login[1] if login else None)
    again = parse_proxy_lines([proxy.connect_url().encode()], "x").proxies  # no country there
    assert again == {proxy.url: proxy.model_copy(update={"country": None})}
