"""opslib._files.write_atomic: whole file or old file, never half, nothing left behind."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from opslib._files import write_atomic


def test_replaces_whole_with_the_mode_asked(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "report.json"
    write_atomic(target, "first\n")
    assert target.read_text() == "first\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    write_atomic(target, b"\x00second", mode=0o600)
    assert target.read_bytes() == b"\x00second"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.json"]


def test_a_failed_rename_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()  # a directory where the file should go: the rename fails
    (tmp_path / "taken" / "inside").write_text("x")
    with pytest.raises(OSError):
        write_atomic(tmp_path / "taken", "data")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_no_directory_is_made_unless_asked(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "missing" / "f", "x", mkdir=False)
    assert not (tmp_path / "missing").exists()
