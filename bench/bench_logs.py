"""Benchmark: log template mining, ``opslib.logs.PatternMiner`` against drain3, side by side.

Run with ``nox -s bench`` (or ``python bench/bench_logs.py [--rounds N]``; drain3 must be
installed: the bench session installs it, the runtime does not need it).

On each dev log (``shared/dev-data/logs``: Loghub's Apache, HDFS, Linux and OpenSSH samples of
2,000 lines with their true templates), in two forms:

- ``raw``: the lines as the log has them, header (time, level, host, component) and all,
  which is what ``opslib logs patterns --file LOG --assignments IDS`` mines;
- ``content``: only the message, the structured ``Content`` column.

For each miner, fresh for each run (opslib's process-wide header memos emptied too): lines
per second of wall time and per CPU second of the process (the best of ``--rounds`` runs; the
two miners alternate, so load on the machine hits both alike; on a shared, loaded machine the
CPU figure is the steady one, and the targets are judged on it) and grouping accuracy (a line
is right when the lines grouped with it are exactly the lines of its true template). drain3 runs
with its default configuration and the masking of its example configuration (IDs, IPs, hex,
sequences, numbers). Targets: throughput >= 1.0x drain3 (aim 2x) on the same input, with
accuracy no worse.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any

from opslib.logs import PatternMiner, _header

ROOT = Path(__file__).resolve().parents[1]
LOGS = ("Apache", "HDFS", "Linux", "OpenSSH")
TARGET = 1.0
# drain3's examples/drain3.ini masking, the "standard" one
DRAIN3_MASKING = [
    (r"((?<=[^A-Za-z0-9])|^)(([0-9a-f]{2,}:){3,}([0-9a-f]{2,}))((?=[^A-Za-z0-9])|$)", "ID"),
    (r"((?<=[^A-Za-z0-9])|^)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})((?=[^A-Za-z0-9])|$)", "IP"),
    (r"((?<=[^A-Za-z0-9])|^)([0-9a-f]{6,} ?){3,}((?=[^A-Za-z0-9])|$)", "SEQ"),
    (r"((?<=[^A-Za-z0-9])|^)([0-9A-F]{4} ?){4,}((?=[^A-Za-z0-9])|$)", "SEQ"),
    (r"((?<=[^A-Za-z0-9])|^)(0x[a-f0-9A-F]+)((?=[^A-Za-z0-9])|$)", "HEX"),
    (r"((?<=[^A-Za-z0-9])|^)([\-\+]?\d+)((?=[^A-Za-z0-9])|$)", "NUM"),
    (r"(?<=executed cmd )(\".+?\")", "CMD"),
]

Miner = Callable[[Sequence[str]], list[Hashable]]


def _dev_logs() -> Path:
    for base in (ROOT.parent / "shared", Path("/work/shared")):
        if (base / "dev-data" / "logs").is_dir():
            return base / "dev-data" / "logs"
    raise SystemExit("no shared/dev-data/logs beside the checkout")


def _load(folder: Path, name: str) -> tuple[list[str], list[str], list[str]]:
    raw = (folder / name / f"{name}_2k.log").read_bytes().decode("utf-8", "replace").splitlines()
    with (folder / name / f"{name}_2k.log_structured_corrected.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return raw, [r["Content"] for r in rows], [r["EventTemplate"] for r in rows]


def grouping_accuracy(truth: Sequence[str], found: Sequence[Hashable]) -> float:
    """The share of lines whose group holds exactly the lines of their true template."""
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


def opslib_miner(lines: Sequence[str]) -> list[Hashable]:
    _header._SHAPES.clear()  # a cold start each run: the header memos are process-wide
    _header._KIND_MEMO.clear()
    miner = PatternMiner()
    add = miner.add
    return [add(line) for line in lines]


def drain3_miner() -> Miner:
    drain3: Any = importlib.import_module("drain3")
    config_module: Any = importlib.import_module("drain3.template_miner_config")
    masking: Any = importlib.import_module("drain3.masking")

    def mine(lines: Sequence[str]) -> list[Hashable]:
        config = config_module.TemplateMinerConfig()
        config.masking_instructions = [
            masking.MaskingInstruction(pattern, name) for pattern, name in DRAIN3_MASKING
        ]
        miner = drain3.TemplateMiner(config=config)
        add = miner.add_log_message
        return [add(line)["cluster_id"] for line in lines]

    return mine


def _timed(mine: Miner, lines: Sequence[str]) -> tuple[float, float, list[Hashable]]:
    """Lines per wall second, lines per CPU second, and the pattern of each line."""
    began, cpu = time.perf_counter(), time.process_time()
    ids = mine(lines)
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    return len(lines) / wall, len(lines) / max(cpu, 1e-9), ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs per miner, log and form")
    args = parser.parse_args()
    folder = _dev_logs()
    miners: dict[str, Miner] = {"opslib": opslib_miner, "drain3": drain3_miner()}
    print("log mining: opslib.logs.PatternMiner vs drain3 (default config + standard masking)")
    print(f"best of {args.rounds} runs each, 2,000 lines per log, a fresh miner per run")
    print(
        f"{'log':8} {'form':8} {'opslib lines/s':>15} {'drain3 lines/s':>15} {'ratio':>6}"
        f" {'per CPU s':>10} {'opslib GA':>10} {'drain3 GA':>10}"
    )
    ratios: dict[str, list[float]] = {"raw": [], "content": []}
    worse: list[str] = []
    for name in LOGS:
        raw, content, truth = _load(folder, name)
        for form, lines in (("raw", raw), ("content", content)):
            speed: dict[str, float] = {}
            cpu_speed: dict[str, float] = {}
            accuracy: dict[str, float] = {}
            for _ in range(args.rounds):
                for label, mine in miners.items():  # alternate, so load hits both alike
                    rate, cpu_rate, ids = _timed(mine, lines)
                    speed[label] = max(speed.get(label, 0.0), rate)
                    cpu_speed[label] = max(cpu_speed.get(label, 0.0), cpu_rate)
                    accuracy[label] = grouping_accuracy(truth, ids)
            ratio = cpu_speed["opslib"] / cpu_speed["drain3"]
            ratios[form].append(ratio)
            if accuracy["opslib"] < accuracy["drain3"]:
                worse.append(f"{name} {form}")
            print(
                f"{name:8} {form:8} {speed['opslib']:>15,.0f} {speed['drain3']:>15,.0f}"
                f" {speed['opslib'] / speed['drain3']:>5.2f}x {ratio:>9.2f}x"
                f" {accuracy['opslib']:>10.3f} {accuracy['drain3']:>10.3f}"
            )
    for form, values in ratios.items():
        met = "met" if min(values) >= TARGET else "NOT met"
        print(
            f"throughput ratio per CPU second ({form}): {min(values):.2f}x - {max(values):.2f}x,"
            f" median {statistics.median(values):.2f}x; target >= {TARGET:.1f}x: {met}"
        )
    print(
        "accuracy no worse than drain3: "
        + ("met on every log and form" if not worse else f"NOT met on {', '.join(worse)}")
    )


if __name__ == "__main__":
    main()
