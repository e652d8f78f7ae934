"""The baseline of --new: written atomically, read back, refused when it is not one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opslib.errors import InputError
from opslib.logs import PatternMiner, load_baseline, new_patterns, save_baseline


def test_new_patterns_are_those_the_baseline_lacks(tmp_path: Path) -> None:
    yesterday = PatternMiner()
    yesterday.add_all(["user 1 logged in", "user 2 logged in", "disk 80% full"])
    path = save_baseline(yesterday.patterns(), tmp_path / "sub" / "base.json")
    assert sorted(load_baseline(path)) == ["disk <*> full", "user <*> logged in"]
    today = PatternMiner()
    today.add_all(["user 7 logged in", "disk 91% full", "proxy 10.0.0.1 banned by shop.test"])
    assert [p.template for p in new_patterns(today.patterns(), load_baseline(path))] == [
        "proxy <*> banned by shop.test"
    ]
    assert not list(tmp_path.glob("sub/.base.json.*"))  # no temporary file left


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no log baseline"),
        ("{broken", "cannot read"),
        ('{"schema_version": 9, "templates": []}', "schema version"),
        ('{"schema_version": 1, "templates": [1]}', "not a list of strings"),
    ],
)
def test_a_bad_baseline_is_one_clear_input_error(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "base.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError, match=message):
        load_baseline(path)


def test_the_baseline_is_json_with_a_version(tmp_path: Path) -> None:
    miner = PatternMiner()
    miner.add("hello 1")
    document = json.loads(save_baseline(miner.patterns(), tmp_path / "b.json").read_text())
    assert document["schema_version"] == 1
    assert document["templates"] == ["hello <*>"]
