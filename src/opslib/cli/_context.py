"""What every subcommand gets: settings (read once, lazily), adapters, output, audit log."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import click

from opslib.adapters import Database
from opslib.audit import AuditLog
from opslib.cli._output import Output
from opslib.config import Settings, load_settings
from opslib.connect import open_database

__all__ = ["AppContext", "pass_app"]


@dataclass
class AppContext:
    """Shared state of one ``opslib`` invocation."""

    config_file: Path | None = None
    output: Output = field(default_factory=Output)

    @cached_property
    def settings(self) -> Settings:
        return load_settings(self.config_file)

    @cached_property
    def database(self) -> Database:
        return open_database(self.settings)

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self.database, self.settings.actor)

    def close(self) -> None:
        """Close the database connection, if one was opened."""
        database = self.__dict__.get("database")
        if isinstance(database, Database):
            database.close()


pass_app = click.make_pass_decorator(AppContext)
