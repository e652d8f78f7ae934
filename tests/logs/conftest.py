"""The dev logs with their true templates (Loghub samples in ``shared/dev-data/logs``) and a
scorer of grouping accuracy, as the public benchmarks compute it."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support import require

ROOT = Path(__file__).resolve().parents[2]
DEV_LOGS = ("Apache", "HDFS", "Linux", "OpenSSH")


@dataclass(frozen=True)
class DevLog:
    """One dev log: its raw lines, the structured messages and each line's true template."""

    name: str
    raw: list[str]
    content: list[str]
    truth: list[str]


def dev_logs_dir() -> Path | None:
    """``shared/dev-data/logs`` beside the checkout (CI lays a copy of shared/ there)."""
    for base in (ROOT.parent / "shared", Path("/work/shared")):
        folder = base / "dev-data" / "logs"
        if folder.is_dir():
            return folder
    return None


def load_dev_log(name: str) -> DevLog:
    """The dev log ``name`` (skipped, or failed in CI, when the dev data is absent)."""
    __tracebackhide__ = True
    folder = dev_logs_dir()
    require(folder is not None, "no shared/dev-data/logs beside the checkout")
    assert folder is not None
    raw = (folder / name / f"{name}_2k.log").read_bytes().decode("utf-8", "replace").splitlines()
    with (folder / name / f"{name}_2k.log_structured_corrected.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return DevLog(name, raw, [r["Content"] for r in rows], [r["EventTemplate"] for r in rows])


def grouping_accuracy(truth: Sequence[str], found: Sequence[Hashable]) -> float:
    """The share of lines whose group holds exactly the lines of their true template."""
    assert len(truth) == len(found)
    groups: defaultdict[Hashable, list[int]] = defaultdict(list)
    for index, group in enumerate(found):
        groups[group].append(index)
    sizes = Counter(truth)
    right = 0
    for members in groups.values():
        templates = {truth[i] for i in members}
        if len(templates) == 1 and sizes[templates.pop()] == len(members):
            right += len(members)
    return right / len(truth)
