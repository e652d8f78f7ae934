"""The README's plan file example is a plan ``opslib maintenance run --plan`` accepts."""

from __future__ import annotations

import re
from pathlib import Path

from opslib.procedure import RUNBOOK_STEPS, read_plan

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_plan_example_reads(tmp_path: Path) -> None:
    blocks = re.findall(r"```toml\n(.*?)```", README.read_text(), re.DOTALL)
    [example] = [b for b in blocks if "[step." in b]
    path = tmp_path / "plan.toml"
    path.write_text("\n".join(line.removeprefix("  ") for line in example.splitlines()))
    plan = read_plan(path)
    assert plan.reason == "deploy pricewatch v2.4"
    assert plan.steps == tuple(s for s in RUNBOOK_STEPS if s != "pull_images")
    assert plan.options["stop_services"] == {"services": ["scraper", "scheduler"], "timeout": 60}
    assert plan.options["completion_notice"] == {"required": False}
    assert [s.name for s in plan.procedure()] == list(plan.steps)
