"""``opslib doctor``: can each runbook check run against the configured platform?"""

from __future__ import annotations

import dataclasses

import click

from opslib.cli._context import AppContext, pass_app
from opslib.doctor import run_doctor

__all__ = ["doctor"]

_LEVEL = {"full": "runs fully", "partial": "runs partly", "none": "cannot run"}


@click.command("doctor")
@pass_app
@click.pass_context
def doctor(ctx: click.Context, app: AppContext) -> None:
    """The first command on a new platform: reach every configured dependency and say, per SOP
    check, whether it runs fully, partly (what is missing) or not at all, with the fix.

    Changes nothing. Exit status: 0 every check runs fully, 1 some partly, 2 some not at all,
    3 when that is because a dependency did not answer.
    """
    report = run_doctor(app.settings)
    out = app.output
    if out.as_json:
        out.data(
            {
                "exit_status": report.exit_code,
                "probes": [dataclasses.asdict(p) for p in report.probes],
                "checks": [dataclasses.asdict(c) for c in report.checks],
            }
        )
    else:
        out.table(
            ("dependency", "looked for", "found", "detail"),
            [(p.dependency, p.item, "yes" if p.found else "NO", p.detail) for p in report.probes],
        )
        out.info("")
        for check in report.checks:
            out.info(f"{check.sop:<20} {check.check}: {_LEVEL[check.level]}")
            for missing in check.missing:
                out.info(f"{'':<20}   missing: {missing}")
            for fix in dict.fromkeys(check.fixes):
                out.info(f"{'':<20}   fix: {fix}")
    ctx.exit(report.exit_code)
