"""The audit trail: a row in ``opslib.audit_log`` for every state-changing action, dry runs too."""

from __future__ import annotations

import getpass
import json
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opslib.adapters import Database
from opslib.errors import OpsError, UnsafeActionError
from opslib.redact import redact

__all__ = ["AuditEntry", "AuditLog", "current_actor"]

_log = logging.getLogger(__name__)


def current_actor() -> str:
    """Who acts: ``$OPSLIB_ACTOR``, else the login name, with the host's sudo user if any."""
    actor = os.environ.get("OPSLIB_ACTOR")
    if actor:
        return actor
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = f"uid:{os.getuid()}"
    sudo = os.environ.get("SUDO_USER")
    return f"{sudo} (as {name})" if sudo and sudo != name else name


@dataclass(frozen=True)
class AuditEntry:
    """One audit row as read back."""

    at: datetime
    actor: str
    action: str
    arguments: Mapping[str, Any]
    dry_run: bool
    outcome: str
    detail: str


@dataclass
class _Outcome:
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class AuditLog:
    """Writes and reads the audit log through a :class:`~opslib.adapters.Database`."""

    def __init__(self, db: Database, actor: str | None = None) -> None:
        self._db = db
        self._actor = actor or current_actor()

    def record(
        self,
        action: str,
        arguments: Mapping[str, Any],
        *,
        dry_run: bool,
        outcome: str,
        detail: str = "",
    ) -> None:
        """Write one row; secrets in arguments and detail are masked first."""
        self._db.execute(
            "INSERT INTO opslib.audit_log (actor, action, arguments, dry_run, outcome, detail)"
            " VALUES (%s, %s, %s::jsonb, %s, %s, %s)",
            (
                self._actor,
                action,
                redact(json.dumps(dict(arguments), default=str, sort_keys=True)),
                dry_run,
                outcome,
                redact(detail)[:2000],
            ),
        )

    @contextmanager
    def action(
        self, action: str, arguments: Mapping[str, Any], *, dry_run: bool
    ) -> Iterator[_Outcome]:
        """Record ``action`` with outcome ok, refused (UnsafeActionError) or failed."""
        outcome = _Outcome()
        try:
            yield outcome
        except BaseException as exc:
            verdict = "refused" if isinstance(exc, UnsafeActionError) else "failed"
            try:
                self.record(action, arguments, dry_run=dry_run, outcome=verdict, detail=str(exc))
            except OpsError as audit_exc:
                # The action's own error matters more; keep the audit failure visible in logs.
                _log.warning("audit entry for %s not written: %s", action, audit_exc)
            raise
        self.record(action, arguments, dry_run=dry_run, outcome="ok", detail=outcome.detail)

    def recent(self, limit: int = 50, action: str | None = None) -> list[AuditEntry]:
        """The newest entries, newest first."""
        rows = self._db.fetch_all(
            "SELECT at, actor, action, arguments, dry_run, outcome, detail FROM opslib.audit_log"
            " WHERE %(action)s::text IS NULL OR action = %(action)s ORDER BY at DESC, id DESC"
            " LIMIT %(limit)s",
            {"action": action, "limit": limit},
        )
        return [AuditEntry(**row) for row in rows]
