"""Config sets: validated before anything is installed, the previous set kept once, rolled
back byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from opslib.errors import InputError
from opslib.procedure import install_config_set, plan_config_set, rollback_config_set


@pytest.fixture
def live(tmp_path: Path) -> list[Path]:
    etc = tmp_path / "etc"
    etc.mkdir()
    files = [etc / "scraper.toml", etc / "domains.json", etc / "notes.txt"]
    files[0].write_text("workers = 4\n")
    files[1].write_text('{"a.test": 1}\n')
    files[2].write_text("old notes\n")
    files[0].chmod(0o640)
    return files


def new_set(tmp_path: Path, **overrides: str) -> Path:
    folder = tmp_path / "set"
    folder.mkdir(exist_ok=True)
    contents = {"scraper.toml": "workers = 8\n", "domains.json": '{"a.test": 2}\n',
                "notes.txt": "old notes\n", **overrides}  # fmt: skip
    for name, text in contents.items():
        (folder / name).write_text(text)
    return folder


def snapshot(files: list[Path]) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in files}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"scraper.toml": "workers = \n"}, "scraper.toml does not parse"),
        ({"domains.json": '{"a.test": '}, "domains.json does not parse"),
    ],
)
def test_a_set_that_does_not_parse_installs_nothing(
    tmp_path: Path, live: list[Path], overrides: dict[str, str], message: str
) -> None:
    before = snapshot(live)
    previous = tmp_path / "previous"
    with pytest.raises(InputError, match=message):
        install_config_set(new_set(tmp_path, **overrides), live, previous)
    assert snapshot(live) == before
    assert not previous.exists()  # nothing kept either: nothing was touched


def test_invalid_sets(tmp_path: Path, live: list[Path]) -> None:
    previous = tmp_path / "previous"
    folder = new_set(tmp_path)
    (folder / "domains.json").unlink()
    with pytest.raises(InputError, match=r"has no domains.json \(for .*etc/domains.json\)"):
        install_config_set(folder, live, previous)
    (folder / "domains.json").write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(InputError, match="cannot be read as UTF-8"):
        install_config_set(folder, live, previous)
    with pytest.raises(InputError, match="is not a directory"):
        install_config_set(tmp_path / "missing", live, previous)
    with pytest.raises(InputError, match="names no file"):
        install_config_set(new_set(tmp_path), [], previous)
    with pytest.raises(InputError, match="is a directory"):
        install_config_set(new_set(tmp_path), [tmp_path / "etc"], previous)
    assert not previous.exists()


def test_install_keeps_the_previous_set_once_and_rollback_restores_it(
    tmp_path: Path, live: list[Path]
) -> None:
    original = snapshot(live)
    previous = tmp_path / "kept" / "previous"
    folder = new_set(tmp_path)
    assert [c.changed for c in plan_config_set(folder, live)] == [True, True, False]
    changes = install_config_set(folder, live, previous)
    assert [(c.target.name, c.changed) for c in changes] == [
        ("scraper.toml", True), ("domains.json", True), ("notes.txt", False)
    ]  # fmt: skip
    assert live[0].read_text() == "workers = 8\n"
    assert live[0].stat().st_mode & 0o777 == 0o640  # the file's mode is kept
    assert snapshot([previous / f.name for f in live]) == original
    # A resumed run installs again: the first copy (the true previous set) is kept.
    install_config_set(folder, live, previous)
    assert snapshot([previous / f.name for f in live]) == original
    restored = rollback_config_set(previous, live)
    assert restored == live
    assert snapshot(live) == original
    assert not list(live[0].parent.glob(".*opslib-new"))  # no temporary file left


def test_rollback_refuses_an_incomplete_previous_set(tmp_path: Path, live: list[Path]) -> None:
    previous = tmp_path / "previous"
    previous.mkdir()
    (previous / "scraper.toml").write_text("half copied")  # killed while keeping the set
    before = snapshot(live)
    with pytest.raises(InputError, match="holds no complete previous config set"):
        rollback_config_set(previous, live)
    assert snapshot(live) == before
