"""Benchmark: what opslib costs a process that imports it, and every pytest start beside it.

Usage::

    python bench/bench_import.py [--rounds 15]

Times, alternating, in fresh interpreters (median wall time of each):

- ``import opslib`` (the lazy top level) against importing what its names need at once
  (``opslib.proxies``, ``opslib.config``, ``opslib.connect``): the cost a service pays before it
  touches a name, against an eager top level;
- ``pytest --co`` of one trivial test with opslib's plugin (auto-loaded from its entry point)
  against ``-p no:opslib``: what the plugin adds to every pytest run in an environment where
  opslib is installed.

Prints the medians side by side with their differences and ratios.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _timed(argv: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        (cwd / "test_one.py").write_text("def test_one() -> None:\n    assert True\n")
        cases = {
            "import opslib (lazy)": [py, "-c", "import opslib"],
            "import what its names need": [
                py, "-c", "import opslib.proxies, opslib.config, opslib.connect",
            ],
            "pytest --co, plugin on": [py, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider"],
            "pytest --co, -p no:opslib": [
                py, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", "-p", "no:opslib",
            ],
        }  # fmt: skip
        times: dict[str, list[float]] = {name: [] for name in cases}
        for argv in cases.values():  # warm the file cache
            _timed(argv, cwd)
        for _ in range(args.rounds):
            for name, argv in cases.items():
                times[name].append(_timed(argv, cwd))
    median = {name: statistics.median(values) * 1000 for name, values in times.items()}
    for name, ms in median.items():
        print(f"{name:<30} {ms:8.1f} ms (median of {args.rounds})")
    lazy, eager = median["import opslib (lazy)"], median["import what its names need"]
    on, off = median["pytest --co, plugin on"], median["pytest --co, -p no:opslib"]
    print(f"lazy top level: {eager - lazy:+.1f} ms saved, {eager / lazy:.1f}x")
    print(f"opslib's plugin adds {on - off:+.1f} ms to a pytest start ({on / off:.2f}x)")


if __name__ == "__main__":
    main()
