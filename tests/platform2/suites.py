"""Running a check suite against the second platform as an operator does, and reading its
JSON summary."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.platform2.stack import Platform2

__all__ = ["SuiteRun", "run_suite"]

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class SuiteRun:
    """One ``pytest checks/<suite>`` run: its process, reports and summary."""

    process: subprocess.CompletedProcess[str]
    html: Path
    junit: Path
    summary: dict[str, Any]

    @property
    def checks(self) -> dict[str, dict[str, Any]]:
        """Each check's summary entry, by test name (``test_error_rate``)."""
        return {c["nodeid"].split("::")[-1]: c for c in self.summary["checks"]}

    @property
    def severities(self) -> dict[str, str]:
        return {name: c["severity"] for name, c in self.checks.items()}

    def figure(self, check: str, name: str, subject: str = "") -> dict[str, Any]:
        """The one measurement ``name`` (of ``subject``) of ``check``."""
        found = [
            m
            for m in self.checks[check]["measurements"]
            if m["name"] == name and m["subject"] == subject
        ]
        assert len(found) == 1, (check, name, subject, self.checks[check]["measurements"])
        figure: dict[str, Any] = found[0]
        return figure

    def subjects(self, check: str, name: str) -> set[str]:
        return {m["subject"] for m in self.checks[check]["measurements"] if m["name"] == name}

    def text(self) -> str:
        """Everything the run wrote: output and every report."""
        reports = (self.html, self.junit, self.html.with_suffix(".json"))
        return self.process.stdout + self.process.stderr + "".join(p.read_text() for p in reports)


def run_suite(platform: Platform2, suite: str, out: Path) -> SuiteRun:
    """``pytest checks/<suite>`` (a folder or a file under it) with HTML, JSON and JUnit reports
    in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    name = suite.replace("/", "-")
    html, junit = out / f"{name}.html", out / f"{name}.xml"
    argv = [sys.executable, "-m", "pytest", str(ROOT / "checks" / suite), "-p", "no:cacheprovider",
            "--html", str(html), "--self-contained-html", "--junitxml", str(junit)]  # fmt: skip
    process = subprocess.run(
        argv, env=platform.env(), capture_output=True, text=True, timeout=120, cwd=out,
        check=False,
    )  # fmt: skip
    summary = json.loads(html.with_suffix(".json").read_text())
    return SuiteRun(process, html, junit, summary)
