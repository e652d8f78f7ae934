"""``opslib lab``: start, inspect, break and heal the built-in price-monitoring lab."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from opslib.cli._context import AppContext, pass_app
from opslib.errors import LabError
from opslib.lab import FAULTS, Lab, LabSettings, LabStatus

__all__ = ["lab"]

_state_dir = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The lab's state directory (default: $OPSLIB_LAB_DIR, else <tmp>/opslib-lab).",
)
_json = click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")


def _lab(state_dir: Path | None) -> Lab:
    return Lab(LabSettings(state_dir=state_dir) if state_dir else LabSettings())


def _export_line(path: Path) -> str:
    return f"export OPSLIB_CONFIG={shlex.quote(str(path))}"


def _show(app: AppContext, status: LabStatus) -> None:
    rows = []
    for c in status.components:
        where = c.container or (f"pid {c.pid}" if c.pid else "")
        state = "running" if c.running else ("stopped (fault)" if not c.expected else "down")
        rows.append((c.name, state, where, " ".join(str(p) for p in c.ports), c.detail))
    app.output.table(
        ("component", "state", "where", "ports", "detail"),
        rows,
        payload=status.model_dump(mode="json"),
    )
    if app.output.as_json:
        return
    for fault in status.faults:
        app.output.info(f"fault  {fault.description} (since {fault.since:%H:%M:%S})")
    if status.config_file is not None:
        app.output.info(_export_line(status.config_file))


@click.group()
def lab() -> None:
    """Start, stop and break the built-in price-monitoring lab (127.0.0.1 only)."""


@lab.command("up")
@_state_dir
@click.option("--project", default="pricewatch", show_default=True, help="Compose project name.")
@click.option("--workers", type=click.IntRange(1, 16), default=2, show_default=True)
@click.option(
    "--port-base", type=int, help="Derive every port from this one (default: 8000/9090 ...)."
)
@click.option(
    "--docker/--no-docker",
    "use_docker",
    default=None,
    help="Workers as containers or processes (default: containers if Docker answers).",
)
@click.option(
    "--history-days",
    type=click.IntRange(0, 366),
    default=7,
    show_default=True,
    help="Days of history seeded into a new database (180 for capacity planning).",
)
@click.option(
    "--history-volume",
    type=click.FloatRange(0.01, 100),
    default=5.0,
    show_default=True,
    help="Seeded rows per URL per hour (0.25 seeds 180 days fast).",
)
@_json
@pass_app
def up_cmd(
    app: AppContext,
    *,
    state_dir: Path | None,
    project: str,
    workers: int,
    port_base: int | None,
    use_docker: bool | None,
    history_days: int,
    history_volume: float,
    as_json: bool,
) -> None:
    """Start the lab (or whatever of it is not running); idempotent."""
    app.output.as_json = app.output.as_json or as_json
    fields: dict[str, object] = {"project": project, "workers": workers, "use_docker": use_docker}
    fields |= {"history_days": history_days, "history_volume": history_volume}
    if state_dir is not None:
        fields["state_dir"] = state_dir
    if port_base is not None:
        fields["port_base"] = port_base
    try:
        settings = LabSettings.model_validate(fields)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    the_lab = Lab(settings)
    app.output.info(f"starting the lab in {settings.state_dir} ...")
    _show(app, the_lab.up())


@lab.command("down")
@_state_dir
@pass_app
def down_cmd(app: AppContext, state_dir: Path | None) -> None:
    """Stop everything and remove the state directory."""
    the_lab = _lab(state_dir)
    the_lab.down()
    app.output.data(
        {"down": True, "state_dir": str(the_lab.paths.root)}, f"lab in {the_lab.paths.root} is down"
    )


@lab.command("status")
@_state_dir
@_json
@pass_app
def status_cmd(app: AppContext, state_dir: Path | None, as_json: bool) -> None:
    """What runs (PIDs, containers, ports) and the active faults; exit 3 if something is down."""
    app.output.as_json = app.output.as_json or as_json
    status = _lab(state_dir).status()
    if not status.components:
        raise LabError(f"no lab in {status.state_dir}")
    _show(app, status)
    down = [c.name for c in status.components if c.expected and not c.running]
    if down:
        raise LabError(f"not running: {', '.join(down)}")


@lab.command("env")
@_state_dir
@_json
@pass_app
def env_cmd(app: AppContext, state_dir: Path | None, as_json: bool) -> None:
    """Print `export OPSLIB_CONFIG=...` for the lab's config file (eval it in your shell)."""
    app.output.as_json = app.output.as_json or as_json
    the_lab = _lab(state_dir)
    if not the_lab.config_file.exists():
        raise LabError(f"no lab is up in {the_lab.paths.root}; run `opslib lab up`")
    path = the_lab.config_file
    app.output.data({"OPSLIB_CONFIG": str(path)}, _export_line(path))


@lab.command("inject")
@click.argument("fault", type=click.Choice(FAULTS))
@click.option(
    "--target",
    help="A shop domain (error-burst, low-confidence, missing-prices, site-change), a scraper"
    " number, or a proxy (proxy-*: its URL, port or country).",
)
@_state_dir
@pass_app
def inject_cmd(app: AppContext, fault: str, target: str | None, state_dir: Path | None) -> None:
    """Break the lab on purpose."""
    description = _lab(state_dir).inject(fault, target)
    app.output.data({"fault": fault, "target": target, "description": description}, description)


@lab.command("heal")
@click.argument("fault", type=click.Choice(FAULTS), required=False)
@_state_dir
@pass_app
def heal_cmd(app: AppContext, fault: str | None, state_dir: Path | None) -> None:
    """Undo FAULT, or every active fault."""
    done = _lab(state_dir).heal(fault)
    app.output.data({"healed": done}, "\n".join(done) or "no active fault to heal")
