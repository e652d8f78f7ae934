"""nftables and nginx rules from networks; nft -c validates them when nft is installed."""

from __future__ import annotations

import shutil

import pytest

from opslib.security import build_rules, parse_network, render_rules


def test_nft_rules_have_interval_sets() -> None:
    text = render_rules([parse_network("10.0.0.0/8"), parse_network("2001:db8::1")], "nft")
    assert "table inet opslib {" in text
    assert "flags interval" in text
    assert "ip saddr @blocked4 counter drop" in text
    assert "elements = { 2001:db8::1/128 }" in text


def test_an_empty_blocklist_is_valid_rules() -> None:
    assert "elements" not in render_rules([], "nft")
    assert render_rules([], "nginx").count("deny") == 0


def test_validation_says_how() -> None:
    rules = build_rules([parse_network("192.0.2.0/24")], "nft", table="opslib")
    if shutil.which("nft") is None:
        assert rules.validated == "not validated: nft is not installed here"
    else:  # pragma: no cover - depends on the machine
        assert rules.validated == "validated with nft -c"


@pytest.mark.skipif(shutil.which("nft") is None, reason="nft is not installed here")
def test_nft_accepts_many_networks() -> None:  # pragma: no cover - depends on the machine
    nets = [parse_network(f"10.{i // 256}.{i % 256}.0/24") for i in range(2000)]
    assert build_rules(nets, "nft", table="opslib").validated == "validated with nft -c"
