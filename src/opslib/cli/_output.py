"""All terminal output of the command line: human text or ``--json``; errors to stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import click

from opslib.redact import redact

__all__ = ["Output"]


class Output:
    """Prints results as text tables or JSON; nothing else in the CLI prints."""

    def __init__(self, *, as_json: bool = False) -> None:
        self.as_json = as_json

    def data(self, payload: Any, text: str | None = None) -> None:
        """``payload`` as JSON with ``--json``, else ``text`` (or a plain rendering)."""
        if self.as_json:
            click.echo(redact(json.dumps(payload, indent=2, default=str, sort_keys=True)))
        else:
            click.echo(redact(text if text is not None else _plain(payload)))

    def table(
        self, columns: Sequence[str], rows: Sequence[Sequence[Any]], payload: Any = None
    ) -> None:
        if self.as_json:
            self.data(
                payload
                if payload is not None
                else [dict(zip(columns, r, strict=True)) for r in rows]
            )
            return
        cells = [[str(c) for c in columns]] + [
            ["" if v is None else str(v) for v in r] for r in rows
        ]
        widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
        for n, row in enumerate(cells):
            click.echo(
                redact("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
            )
            if n == 0:
                click.echo("  ".join("-" * w for w in widths))

    def info(self, message: str) -> None:
        """A progress or status line (stderr when JSON goes to stdout)."""
        click.echo(redact(message), err=self.as_json)

    def error(self, message: str) -> None:
        click.echo(redact(f"opslib: error: {message}"), err=True)

    def isatty(self) -> bool:
        return sys.stdout.isatty() and not self.as_json


def _plain(payload: Any) -> str:
    if isinstance(payload, Mapping):
        width = max((len(str(k)) for k in payload), default=0)
        return "\n".join(f"{str(k).ljust(width)}  {v}" for k, v in payload.items())
    if isinstance(payload, list | tuple):
        return "\n".join(str(v) for v in payload)
    return str(payload)
