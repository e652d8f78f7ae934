"""Reading proxy lists: shapes and bad lines, files and URLs (credentials never shown), and the
name a list's proxies are filed under."""

from __future__ import annotations

import base64
import os
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from opslib.config import Timeouts
from opslib.errors import ConfigError, DataError, DependencyError, InputError
from opslib.proxies import list_source_name, parse_proxy_lines, read_lines, read_proxy_list
from tests.support import free_port

SECRET = "feed-pw-s3cret"
LIST = b"10.0.0.1:3128\nsocks5://10.0.0.2:1080,de\nftp://10.0.0.3:21\n"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        expected = "Basic " + base64.b64encode(f"feed:{SECRET}".encode()).decode()
        ok = self.path.startswith("/lists/") and self.headers.get("Authorization") == expected
        body = LIST if ok else b"no\n"
        self.send_response(200 if ok else 403)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def list_server() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_shapes_duplicates_and_problems() -> None:
    result = parse_proxy_lines(
        read_lines([LIST, b'{"url": "https://10.0.0.4:443", "country": "fr"}\n10.0.0.1:3128,us']),
        "mixed.txt",
    )
    assert sorted(result.proxies) == [
        "http://10.0.0.1:3128", "https://10.0.0.4:443", "socks5://10.0.0.2:1080",
    ]  # fmt: skip
    assert result.proxies["http://10.0.0.1:3128"].country == "us"  # the later line fills it in
    assert (result.duplicates, result.bad_lines) == (1, 1)
    assert [str(p) for p in result.problems] == [
        "mixed.txt:3: unknown scheme 'ftp' (use http, https, socks5)"
    ]


def test_a_file_is_read_under_its_name(tmp_path: Path) -> None:
    path = tmp_path / "weekly.txt"
    path.write_bytes(LIST)
    result = read_proxy_list(str(path))
    assert (result.source, len(result.proxies), result.bad_lines) == ("weekly.txt", 2, 1)
    assert {p.source for p in result.proxies.values()} == {"weekly.txt"}
    with pytest.raises(InputError, match=r"cannot read .*missing\.txt: No such file") as missing:
        read_proxy_list(str(tmp_path / "missing.txt"))
    assert missing.value.exit_code == 2  # bad input, as the README says
    assert isinstance(missing.value, DataError)


def test_only_regular_files_are_read(tmp_path: Path) -> None:
    fifo = tmp_path / "list.fifo"
    os.mkfifo(fifo)  # nobody writes: opening it for reading would block forever
    began = time.monotonic()
    with pytest.raises(InputError, match=r"list\.fifo: not a regular file"):
        read_proxy_list(str(fifo))
    assert time.monotonic() - began < 1
    with pytest.raises(InputError, match=re.escape(f"{tmp_path}: a directory")):
        read_proxy_list(str(tmp_path))
    with pytest.raises(InputError, match="not a regular file"):
        read_proxy_list("/dev/zero")  # endless


def test_a_url_is_downloaded_with_its_credentials(list_server: int) -> None:
    url = f"http://feed:{SECRET}@127.0.0.1:{list_server}/lists/weekly.txt?v=2"
    result = read_proxy_list(url, Timeouts(connect=2, http=2))
    assert (result.source, sorted(result.proxies)) == (
        "weekly.txt", ["http://10.0.0.1:3128", "socks5://10.0.0.2:1080"],
    )  # fmt: skip
    with pytest.raises(DependencyError, match="HTTP 403") as refused:
        read_proxy_list(url.replace("/lists/", "/other/"), Timeouts(connect=2, http=2))
    assert SECRET not in str(refused.value)


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("/srv/lists/weekly.txt", "weekly.txt"),
        ("weekly.csv", "weekly.csv"),
        ("https://u:pw@lists.example/feed/de.txt?token=abc", "de.txt"),
        ("http://u:pw@lists.example:8080/", "lists.example:8080"),
        ("http://lists.example", "lists.example"),
    ],
)
def test_source_names_carry_no_credentials(source: str, name: str) -> None:
    assert list_source_name(source) == name


def test_a_malformed_url_is_one_error_without_its_password() -> None:
    with pytest.raises(ConfigError, match="bad URL") as caught:
        list_source_name(f"http://feed:{SECRET}@[broken/list.txt")
    assert SECRET not in str(caught.value)


def test_nothing_leaks_from_a_bad_line() -> None:
    result = parse_proxy_lines([b"gopher://u:topsecret@h:80"], "x")
    (problem,) = result.problems
    assert str(problem).startswith("x:1: unknown scheme")
    assert "topsecret" not in str(problem)
