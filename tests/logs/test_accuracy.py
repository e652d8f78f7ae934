"""Grouping accuracy on the dev logs, raw lines (headers and all) and structured messages."""

from __future__ import annotations

import pytest

from opslib.logs import PatternMiner
from tests.logs.conftest import grouping_accuracy, load_dev_log

# Floors a little under what the miner reaches (drain3 with the standard masking reaches on
# the messages 1.0, 0.998, 0.873 and 0.72; on raw lines 0.0, 0.82, 0.03 and 0.33).
FLOORS = {"Apache": 0.99, "HDFS": 0.99, "Linux": 0.85, "OpenSSH": 0.9}


@pytest.mark.parametrize("name", sorted(FLOORS))
@pytest.mark.parametrize("form", ["raw", "content"])
def test_grouping_accuracy_floor(name: str, form: str) -> None:
    log = load_dev_log(name)
    lines = log.raw if form == "raw" else log.content
    ids = PatternMiner().add_all(lines)
    assert len(ids) == len(lines)
    accuracy = grouping_accuracy(log.truth, ids)
    assert accuracy >= FLOORS[name], f"{name} ({form}): {accuracy:.3f} < {FLOORS[name]}"


def test_the_scorer_scores_a_perfect_and_a_lumped_grouping() -> None:
    truth = ["a", "a", "b", "c"]
    assert grouping_accuracy(truth, truth) == 1.0
    assert grouping_accuracy(truth, [1, 1, 1, 2]) == 0.25  # only "c" is right
    assert grouping_accuracy(truth, [1, 1, 2, 2]) == 0.5
