"""The ``opslib`` command line."""

from opslib.cli._app import cli, main

__all__ = ["cli", "main"]
