"""What lets the lab's scrapers run as swarm replicas: a worker index from the environment (the
task slot) and a /metrics port for replicas beyond the lab's configured workers."""

from __future__ import annotations

from pathlib import Path

import pytest

from opslib.lab import LabSettings
from opslib.lab._settings import INDEX_ENV
from opslib.lab._swarm import swarm_service_name
from opslib.lab._worker import main


def test_metrics_ports_continue_after_the_configured_ones(tmp_path: Path) -> None:
    settings = LabSettings.for_tests(tmp_path, 40000, project="p1")
    assert settings.metrics_ports == (40010, 40011)
    assert [settings.metrics_port(i) for i in (1, 2, 3, 16)] == [40010, 40011, 40012, 40025]
    assert not {settings.metrics_port(i) for i in range(3, 17)} & set(settings.all_ports())
    for index in (0, 17):
        with pytest.raises(ValueError, match="out of range"):
            settings.metrics_port(index)
    tight = LabSettings.for_tests(tmp_path, 40000, metrics_ports=(40028, 40029))
    with pytest.raises(ValueError, match="no free metrics port"):
        tight.metrics_port(3)  # 40030 is the first proxy's
    assert swarm_service_name(settings) == "p1_scraper"


def test_worker_needs_an_index_from_argv_or_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(INDEX_ENV, raising=False)
    with pytest.raises(SystemExit) as exited:
        main(["--state-dir", str(tmp_path)])
    assert exited.value.code == 2
    assert "--index" in capsys.readouterr().err
    monkeypatch.setenv(INDEX_ENV, "3")
    # past the index: no lab recorded in tmp_path, so the worker stops there
    with pytest.raises(Exception, match=str(tmp_path)):
        main(["--state-dir", str(tmp_path)])
