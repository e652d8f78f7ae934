"""The ``opslib`` command: one group, one function per subcommand, one error handler."""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from pathlib import Path

import click

from opslib import __version__
from opslib.cli._context import AppContext
from opslib.cli._db import db
from opslib.cli._output import Output
from opslib.errors import ConfigError, OpsError
from opslib.redact import install_log_mask, redact, remove_log_mask

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file (default: $OPSLIB_CONFIG, else ./opslib.toml).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
@click.version_option(__version__, prog_name="opslib")
@click.pass_context
def cli(ctx: click.Context, config_file: Path | None, as_json: bool, verbose: int) -> None:
    """Operations runbook of the price-monitoring fleet, as commands.

    Every state-changing command takes --dry-run and writes the audit log.
    Exit status: 0 ok, 1 warning, 2 critical or bad input, 3 unknown (dependency unreachable).
    """
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = AppContext(config_file=config_file, output=Output(as_json=as_json))
    ctx.call_on_close(ctx.obj.close)


cli.add_command(db)


def _register_optional() -> None:
    from opslib.cli import _backup, _doctor, _lab, _maintenance, _notify, _proxies, _watch
    from opslib.cli._capacity import capacity
    from opslib.cli._domains import domains
    from opslib.cli._logs import logs
    from opslib.cli._models import models
    from opslib.cli._patterns import patterns
    from opslib.cli._quality import quality
    from opslib.cli._ratelimit import ratelimit
    from opslib.cli._review import review
    from opslib.cli._scale import limits, scale
    from opslib.cli._credentials import credentials
    from opslib.cli._keys import keys
    from opslib.cli._security import security
    from opslib.cli._sites import sites
    from opslib.cli._strategies import strategies
    from opslib.cli._updates import updates
    from opslib.cli._urls import urls

    cli.add_command(_lab.lab)
    cli.add_command(_backup.backup)
    cli.add_command(_proxies.proxies)
    cli.add_command(_doctor.doctor)
    cli.add_command(_notify.notify)
    cli.add_command(_maintenance.maintenance)
    cli.add_command(_watch.watch_cmd)
    cli.add_command(models)
    cli.add_command(patterns)
    cli.add_command(logs)
    cli.add_command(sites)
    cli.add_command(review)
    cli.add_command(capacity)
    cli.add_command(ratelimit)
    cli.add_command(quality)
    cli.add_command(domains)
    cli.add_command(strategies)
    cli.add_command(security)
    cli.add_command(keys)
    cli.add_command(credentials)
    cli.add_command(scale)
    cli.add_command(limits)
    cli.add_command(updates)
    cli.add_command(urls)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status instead of exiting."""
    _register_optional()
    output = Output()
    install_log_mask()  # no secret in any log line, whatever -v asks for
    try:
        return _run(argv, output)
    finally:
        remove_log_mask()


def _run(argv: Sequence[str] | None, output: Output) -> int:  # noqa: PLR0911 - one per outcome
    try:
        status = cli.main(
            args=list(argv) if argv is not None else None, prog_name="opslib", standalone_mode=False
        )
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        shown = io.StringIO()  # usage errors echo arguments: a URL with its password, maybe
        exc.show(file=shown)
        click.echo(redact(shown.getvalue()), err=True, nl=False)
        return 2
    except click.exceptions.Abort:
        output.error("aborted")
        return 130
    except ConfigError as exc:
        output.error(str(exc))
        for problem in exc.problems:
            click.echo(redact(f"  {problem}"), err=True)
        return exc.exit_code
    except OpsError as exc:
        output.error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        output.error("interrupted")
        return 130
    # With standalone_mode=False click returns the code given to ctx.exit(n) instead of raising.
    return status if isinstance(status, int) else 0
