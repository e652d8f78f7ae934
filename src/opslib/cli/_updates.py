"""``opslib updates``: service images and TLS certificates (check), the runbook's pull,
rebuild and restart with ``certbot renew`` (apply)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import click

from opslib.cli._context import AppContext, pass_app
from opslib.cli._review import result_payload
from opslib.connect import open_platform
from opslib.errors import OpsError
from opslib.results import CheckResult, worst
from opslib.updates import (
    Endpoint,
    apply_update,
    fetch_certificates,
    judge_certificates,
    judge_images,
    plan_update,
    service_images,
)
from opslib.updates._certs import now_utc

__all__ = ["updates"]


@click.group()
def updates() -> None:
    """Security updates (runbook Monthly 1): images and TLS certificates."""


def check_results(app: AppContext) -> list[CheckResult]:
    """The images' and the certificates' results (an engine that does not answer is UNKNOWN)."""
    settings = app.settings
    now = now_utc()
    try:
        with open_platform(settings) as platform:
            images = service_images(platform, ask_registry=settings.updates.check_registry)
        image_result = judge_images(images, settings, now)
    except OpsError as exc:
        image_result = CheckResult.unknown(
            "monthly.security_updates", "images of the compose project are current", str(exc)
        )
    timeout = settings.updates.timeout or settings.timeouts.connect
    endpoints = [Endpoint.parse(e) for e in settings.updates.endpoints]
    certificates = fetch_certificates(endpoints, timeout=timeout, ca_file=settings.updates.ca_file)
    return [image_result, judge_certificates(certificates, settings, now)]


@updates.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def check_cmd(app: AppContext, as_json: bool) -> None:
    """Each service's image (age, a newer image with the same tag here or in the registry)
    and the days left on each updates.endpoints certificate. Exit status: the worst result's
    (0 OK, 1 warning, 2 critical, 3 unknown)."""
    app.output.as_json = app.output.as_json or as_json
    results = check_results(app)
    severity = worst(r.severity for r in results)
    lines = []
    for result in results:
        lines.append(result.message())
        for table in result.tables:
            lines += ["  " + " | ".join(row) for row in table.rows]
    payload = {"severity": severity.name, "results": [result_payload(r) for r in results]}
    app.output.data(payload, "\n".join(lines))
    click.get_current_context().exit(int(severity))


@updates.command("apply")
@click.option("--service", "services", multiple=True, help="Only this service (repeatable).")
@click.option("--dry-run", is_flag=True, help="Show the plan, change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def apply_cmd(app: AppContext, services: tuple[str, ...], dry_run: bool, as_json: bool) -> None:
    """Pull each image whose registry answers, rebuild it from its build context
    (updates.build_contexts), recreate the service's containers one at a time from it (same
    configuration), run updates.certbot_command (certbot renew) and judge it, then the daily
    health check. A failure stops there and names the container. Exit 3 on failure."""
    app.output.as_json = app.output.as_json or as_json
    settings = app.settings
    args: dict[str, Any] = {"services": list(services)}
    with open_platform(settings) as platform:
        plan = plan_update(platform, settings, services)
        with app.audit.action("updates.apply", args, dry_run=dry_run) as out:
            if dry_run:
                out.detail = plan.describe()
                report = None
            else:
                report = apply_update(platform, settings, plan)
                out.detail = report.describe()
                if report.failed:
                    raise OpsError(f"updates apply stopped: {report.failed}")
    payload: dict[str, Any] = {
        "dry_run": dry_run,
        "plan": [asdict(s) | {"build_context": str(s.build_context or "")} for s in plan.services],
        "certbot": list(plan.certbot),
    }
    if report is None:
        app.output.data(payload, "would:\n" + plan.describe())
        return
    payload |= {
        "lines": report.lines,
        "recreated": report.recreated,
        "certbot_outcome": asdict(report.certbot) if report.certbot else None,
    }
    app.output.data(payload, report.describe())
