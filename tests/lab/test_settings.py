from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from opslib.lab import PORT_SPAN, LabSettings


def test_defaults_follow_the_platform_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPSLIB_LAB_DIR", raising=False)
    settings = LabSettings()
    assert settings.metrics_ports == (8000, 8001)
    assert settings.prometheus_port == 9090
    assert settings.exporter_port == 19100  # not 9100: the host's own node_exporter has it
    assert len(settings.proxy_ports) == 6
    assert settings.project == "pricewatch"
    assert settings.state_dir.name == "opslib-lab"
    assert (settings.workers, settings.domains, settings.urls, settings.history_days) == (
        2,
        8,
        240,
        7,
    )


def test_state_dir_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPSLIB_LAB_DIR", str(tmp_path / "x"))
    assert LabSettings().state_dir == tmp_path / "x"


def test_for_tests_derives_every_port_from_the_base(tmp_path: Path) -> None:
    settings = LabSettings.for_tests(tmp_path, 40000, workers=5)
    ports = settings.all_ports()
    assert all(40000 <= p < 40000 + PORT_SPAN for p in ports)
    assert len(set(ports)) == len(ports) == 4 + 5 + 6
    assert settings.project == "pricewatch-labtest"
    assert LabSettings.for_tests(tmp_path, 40000, project="mine").project == "mine"


def test_explicit_ports_win(tmp_path: Path) -> None:
    settings = LabSettings.for_tests(
        tmp_path, 40000, prometheus_port=41999, metrics_ports=(42000, 42001)
    )
    assert settings.prometheus_port == 41999
    assert settings.metrics_ports == (42000, 42001)
    assert settings.shop_port == 40001


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"proxy_ports": (1, 2)}, "out of range"),
        ({"proxy_ports": (30001, 30002, 30003)}, "need 6"),
        ({"metrics_ports": (30001,)}, "one port per worker"),
        ({"shop_port": 40000}, "every port must be different"),
        ({"project": "Bad Name"}, "pattern"),
        ({"urls": 3}, "at least one URL per domain"),
    ],
)
def test_invalid_settings_are_refused(
    tmp_path: Path, fields: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        LabSettings.for_tests(tmp_path, 40000, **fields)


def test_domains_and_proxies(tmp_path: Path) -> None:
    settings = LabSettings.for_tests(tmp_path, 40000, domains=3)
    assert settings.domain_names == ["alpha-shop.test", "bravo-shop.test", "charlie-shop.test"]
    labels = [label for label, _country, _port in settings.proxies]
    countries = [country for _label, country, _port in settings.proxies]
    assert labels[0] == "http://127.0.0.1:40030"
    assert countries == ["de", "fr", "us", "gb", "nl", "pl"]
    assert settings.worker_name(2) == "pricewatch-labtest-scraper-2"
