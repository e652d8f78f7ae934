from __future__ import annotations

import pytest

from opslib.lab._proxy import resolve_target


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("alpha-shop.test", "127.0.0.1"),
        ("ALPHA-SHOP.TEST.", "127.0.0.1"),
        ("localhost", "127.0.0.1"),
        ("127.0.0.5", "127.0.0.5"),
        ("[::1]", "::1"),
        ("example.com", None),
        ("10.0.0.1", None),
        ("8.8.8.8", None),
        ("test", None),
    ],
)
def test_only_loopback_targets_resolve(host: str, address: str | None) -> None:
    assert resolve_target(host) == address
