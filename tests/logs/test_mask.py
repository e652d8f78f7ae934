"""Variable parts masked, punctuation and keys kept; domains found in URLs and fields."""

from __future__ import annotations

import pytest

from opslib.logs import domains_in, mask

CASES = [
    ("uid=0 euid=0 tty=NODEVssh rhost=218.188.2.4", "uid=<*> euid=<*> tty=NODEVssh rhost=<*>"),
    ("10.251.73.220:50010 Served block blk_-1608999687919862906 to /10.251.73.220",
     "<*>:<*> Served block <*> to <*>"),
    ("onExtend:1514038530000 14 0 4", "onExtend:<*> <*> <*> <*>"),
    ("ok /etc/httpd/conf/workers.properties", "ok <*>"),
    ("[client 1.2.3.4] denied", "[client <*>] denied"),
    ("GET https://shop.test/a/b?q=x failed", "GET <*> failed"),
    ("mail to ops@example.com", "mail to <*>"),
    ("id 0x7f3a and 3fa85f64-5717-4562-b3fc-2c963f66afa6", "id <*> and <*>"),
    ("connection at Sun Jul 10 03:55:22 2005 done", "connection at <*> done"),
    ("at 2024-05-01 10:00:00,123 done", "at <*> done"),
    ("took 250ms (3.5s)", "took <*> (<*>)"),
    ("bad \ufffd\ufffd bytes", "bad <*> bytes"),
    ("nothing variable here", "nothing variable here"),
]  # fmt: skip


@pytest.mark.parametrize(("message", "masked"), CASES, ids=[c[1][:30] for c in CASES])
def test_mask(message: str, masked: str) -> None:
    assert mask(message) == masked


def test_domains_from_urls_and_fields() -> None:
    line = "GET https://u:pw@Shop.Example.com:8443/x via http://10.0.0.1/ domain=other.test ok"
    assert domains_in(line) == ["shop.example.com", "other.test"]
    assert domains_in("no urls here") == []
