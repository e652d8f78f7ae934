"""The ``opslib`` command: one group, one function per subcommand, one error handler."""

from __future__ import annotations

import importlib
import io
import logging
from collections.abc import Sequence
from pathlib import Path

import click

from opslib import __version__
from opslib.cli._context import AppContext
from opslib.cli._output import Output
from opslib.errors import ConfigError, OpsError
from opslib.redact import install_log_mask, redact, remove_log_mask

__all__ = ["cli", "main"]


# Each group's module is imported when the group is used, so `opslib db activity` does not pay
# for importing the lab, the security analysis and the rest (about 0.6 s of CPU in all).
_GROUPS: dict[str, str] = {
    "backup": "opslib.cli._backup:backup",
    "capacity": "opslib.cli._capacity:capacity",
    "credentials": "opslib.cli._credentials:credentials",
    "db": "opslib.cli._db:db",
    "doctor": "opslib.cli._doctor:doctor",
    "domains": "opslib.cli._domains:domains",
    "keys": "opslib.cli._keys:keys",
    "lab": "opslib.cli._lab:lab",
    "limits": "opslib.cli._scale:limits",
    "logs": "opslib.cli._logs:logs",
    "maintenance": "opslib.cli._maintenance:maintenance",
    "models": "opslib.cli._models:models",
    "notify": "opslib.cli._notify:notify",
    "patterns": "opslib.cli._patterns:patterns",
    "proxies": "opslib.cli._proxies:proxies",
    "quality": "opslib.cli._quality:quality",
    "ratelimit": "opslib.cli._ratelimit:ratelimit",
    "review": "opslib.cli._review:review",
    "scale": "opslib.cli._scale:scale",
    "security": "opslib.cli._security:security",
    "sites": "opslib.cli._sites:sites",
    "strategies": "opslib.cli._strategies:strategies",
    "updates": "opslib.cli._updates:updates",
    "urls": "opslib.cli._urls:urls",
    "watch": "opslib.cli._watch:watch_cmd",
}


class _LazyGroup(click.Group):
    """A group whose subcommands are imported from :data:`_GROUPS` on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_GROUPS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None or cmd_name not in _GROUPS:
            return found
        module, _, name = _GROUPS[cmd_name].partition(":")
        command = getattr(importlib.import_module(module), name)
        assert isinstance(command, click.Command)
        self.add_command(command, cmd_name)
        return command


@click.group(
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status instead of exiting."""
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
