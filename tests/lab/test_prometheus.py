"""Where the lab finds its Prometheus server binary."""

from __future__ import annotations

from pathlib import Path

import pytest

from opslib.errors import LabError
from opslib.lab._prometheus import find_prometheus


def test_explicit_binary_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    binary = tmp_path / "prometheus-2.53.0.linux-amd64" / "prometheus"
    binary.parent.mkdir()
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    monkeypatch.setenv("OPSLIB_LAB_PROMETHEUS", str(binary))
    assert find_prometheus() == str(binary)


@pytest.mark.parametrize("kind", ["missing", "not-executable", "directory"])
def test_explicit_binary_that_cannot_run_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    binary = tmp_path / "prometheus"
    if kind == "not-executable":
        binary.write_text("#!/bin/sh\n")
        binary.chmod(0o644)
    elif kind == "directory":
        binary.mkdir()
    monkeypatch.setenv("OPSLIB_LAB_PROMETHEUS", str(binary))
    with pytest.raises(LabError) as raised:
        find_prometheus()
    assert str(raised.value) == f"OPSLIB_LAB_PROMETHEUS={binary}: no executable file there"
