"""The ``opslib`` command line (the ``cli`` extra: ``pip install 'opslib[cli]'``)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["main"]

# Third-party packages of the extras, and the extra that brings each.
_EXTRAS = {
    "click": "cli",
    "docker": "cli",
    "requests": "cli",
    "prometheus_client": "cli",
    "lxml": "checks",
    "pytest": "checks",
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``opslib`` command; return its exit status (2 when the ``cli`` extra is missing)."""
    try:
        from opslib.cli._app import main as run

        return run(argv)
    except ModuleNotFoundError as exc:
        extra = _EXTRAS.get((exc.name or "").partition(".")[0])
        if extra is None:
            raise
        print(
            f"opslib: error: this command needs the {exc.name} package:"
            f" pip install 'opslib[{extra}]'",
            file=sys.stderr,
        )
        return 2


def __getattr__(name: str) -> Any:
    if name == "cli":
        from opslib.cli._app import cli

        return cli
    raise AttributeError(f"module 'opslib.cli' has no attribute {name!r}")
