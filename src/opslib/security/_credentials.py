"""Rotation of the database role's password (``opslib credentials rotate database``).

Steps, each idempotent and decided by trying the passwords rather than by trusting a record:

1. ``prepare``: the old password (from the secret file) and a new random one are written to a
   pending file next to it (JSON, 0600, atomically), unless a pending rotation is resumed;
2. ``alter``: ``ALTER ROLE`` with the new password (``sql.Identifier``/``sql.Literal``, never in
   argv or logs) unless the new one already logs in;
3. ``write``: the secret file (``KEY=value`` lines) gets the new password, atomically, 0600;
4. ``restart``: the services that read it are restarted in order through the platform adapter;
5. ``verify``: the old password is refused and the new one logs in; the pending file goes.

Killed at any step, the role accepts the old password (before 2) or the new one (from 2 on),
and the pending file holds both: running the command again finishes the rotation. A row in
``opslib.credential_rotations`` records the step reached (no secret).
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pydantic import SecretStr

from opslib._files import write_atomic
from opslib.adapters import Database
from opslib.errors import ConfigError, InputError, OpsError
from opslib.proxies import ProxyPool, ProxyState

__all__ = [
    "CredentialRotation",
    "RotationResult",
    "read_secret",
    "rotate_proxy_credentials",
    "write_secret",
]

_log = logging.getLogger(__name__)
STEPS = ("prepare", "alter", "write", "restart", "verify")


def read_secret(path: Path, variable: str) -> str | None:
    """The value of ``variable`` in the ``KEY=value`` file ``path`` (None when absent)."""
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return None
    for line in lines:
        key, sep, value = line.partition("=")
        if sep and key.strip() == variable:
            return value.strip()
    return None


def write_secret(path: Path, variable: str, value: str) -> None:
    """Set ``variable`` in the ``KEY=value`` file ``path`` (other lines kept), atomically, 0600."""
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        lines = []
    out = [ln for ln in lines if ln.partition("=")[0].strip() != variable]
    out.append(f"{variable}={value}")
    write_atomic(path, "\n".join(out) + "\n", mode=0o600, mkdir=False)


@dataclass
class RotationResult:
    """What a rotation did: the steps run and skipped (no secret)."""

    role: str
    resumed: bool = False
    steps: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"role": self.role, "resumed": self.resumed,
                "steps": [{"step": s, "detail": d} for s, d in self.steps]}  # fmt: skip


class CredentialRotation:
    """Rotates ``role``'s password: ``db`` runs ``ALTER ROLE``; ``dsn`` (any password in it is
    replaced) is where the passwords are tried; ``secret_file``/``variable`` is where the
    services read it; ``restart`` restarts them in order; ``audit(step, detail)`` records a
    step."""

    def __init__(
        self,
        db: Database,
        *,
        dsn: str,
        role: str,
        secret_file: Path,
        variable: str,
        restart: Callable[[], str],
        audit: Callable[[str, str], None],
        timeout: float = 5.0,
    ) -> None:
        self._db = db
        self._dsn = dsn
        self.role = role
        self.secret_file = secret_file
        self.variable = variable
        self._restart = restart
        self._audit = audit
        self._timeout = timeout

    @property
    def pending_file(self) -> Path:
        """Where a rotation under way keeps the old and new passwords (0600)."""
        return self.secret_file.with_name(f".{self.secret_file.name}.rotation")

    def logs_in(self, password: str) -> bool:
        """Whether ``role`` logs in with ``password`` (refused: False; unreachable: OpsError)."""
        params = conninfo_to_dict(self._dsn)
        params.update(user=self.role, password=password, connect_timeout=int(self._timeout))
        try:
            psycopg.connect(make_conninfo("", **params)).close()
        except psycopg.OperationalError as exc:
            if "password authentication failed" in str(exc) or "authentication failed" in str(exc):
                return False
            raise OpsError(f"postgresql: cannot try the {self.role} role's password") from None
        return True

    def _pending(self) -> dict[str, str] | None:
        try:
            data = json.loads(self.pending_file.read_text())
        except FileNotFoundError:
            return None
        except ValueError:
            raise ConfigError(
                f"{self.pending_file}: unreadable; remove it if no rotation runs"
            ) from None
        if not isinstance(data, dict) or not {"old", "new"} <= set(data):
            raise ConfigError(f"{self.pending_file}: unreadable; remove it if no rotation runs")
        return {"old": str(data["old"]), "new": str(data["new"])}

    def _record(self, step: str, *, finished: bool = False) -> None:
        target = f"database:{self.role}"
        self._db.execute(
            "WITH moved AS (UPDATE opslib.credential_rotations SET step = %(step)s,"
            " updated_at = now(), finished_at = CASE WHEN %(done)s THEN now() END"
            " WHERE target = %(target)s AND finished_at IS NULL RETURNING id)"
            " INSERT INTO opslib.credential_rotations (target, step, finished_at)"
            " SELECT %(target)s, %(step)s, CASE WHEN %(done)s THEN now() END"
            " WHERE NOT EXISTS (SELECT 1 FROM moved)",
            {"target": target, "step": step, "done": finished},
        )

    def _step(self, result: RotationResult, step: str, detail: str) -> None:
        _log.info("credentials rotate database: %s: %s", step, detail)
        result.steps.append((step, detail))
        self._audit(step, detail)
        self._record(step, finished=step == "verify")

    def plan(self) -> str:
        """What :meth:`run` would do (reads only)."""
        if self._pending() is not None:
            return f"resume the rotation of the {self.role} role's password"
        if read_secret(self.secret_file, self.variable) is None:
            raise ConfigError(f"{self.secret_file}: no {self.variable}= line to rotate")
        return (
            f"rotate the {self.role} role's password: ALTER ROLE, write {self.secret_file}"
            f" ({self.variable}), restart the services, verify the old one is refused"
        )

    def run(self) -> RotationResult:
        """Rotate (or finish a rotation an interruption left); see the module's steps."""
        result = RotationResult(self.role)
        pending = self._pending()
        if pending is None:
            old = read_secret(self.secret_file, self.variable)
            if old is None:
                raise ConfigError(f"{self.secret_file}: no {self.variable}= line to rotate")
            if not self.logs_in(old):
                raise OpsError(
                    f"the {self.role} role refuses the password in {self.secret_file}: not"
                    " rotating from an unknown state"
                )
            pending = {"old": old, "new": secrets.token_urlsafe(32)}
            write_atomic(self.pending_file, json.dumps(pending), mode=0o600, mkdir=False)
            self._step(result, "prepare", f"new password kept in {self.pending_file} (0600)")
        else:
            result.resumed = True
            self._step(result, "prepare", "resuming: the pending rotation's passwords are kept")
        old, new = pending["old"], pending["new"]
        if self.logs_in(new):
            self._step(result, "alter", "the role already accepts the new password")
        else:
            self._db.execute(
                sql.SQL("ALTER ROLE {} WITH PASSWORD {}").format(
                    sql.Identifier(self.role), sql.Literal(new)
                )
            )
            self._step(result, "alter", f"ALTER ROLE {self.role}: new password set")
        if read_secret(self.secret_file, self.variable) == new:
            self._step(result, "write", f"{self.secret_file} holds the new password already")
        else:
            write_secret(self.secret_file, self.variable, new)
            self._step(result, "write", f"{self.secret_file} ({self.variable}) written, 0600")
        self._step(result, "restart", self._restart())
        if old != new and self.logs_in(old):
            raise OpsError(f"the {self.role} role still accepts the old password")
        if not self.logs_in(new):
            raise OpsError(f"the {self.role} role refuses the new password")
        self.pending_file.unlink(missing_ok=True)
        self._step(result, "verify", "the old password is refused, the new one logs in")
        return result


def restart_in_order(platform: Any, services: Sequence[str]) -> Callable[[], str]:
    """A ``restart`` for :class:`CredentialRotation`: each service's containers stopped and
    started, one service after the other."""

    def restart() -> str:
        if not services:
            return "no services configured (security.db_services): none restarted"
        done = []
        for service in services:
            containers = platform.containers(service)
            platform.stop(containers)
            platform.start(containers)
            done.append(f"{service} ({len(containers)})")
        return "restarted " + ", ".join(done)

    return restart


def rotate_proxy_credentials(
    pool: ProxyPool, url: str, password: str, *, username: str | None = None
) -> str:
    """Give the pool's proxy ``url`` a new password (and username), sealed at rest like every
    pool password; its country, source, tags and state are kept. One line saying what was done
    (no secret)."""
    shown = next((p for p in pool.proxies() if p.url == url), None)
    if shown is None:
        raise InputError(f"{url}: not in the proxy pool (opslib proxies list)")
    if not password:
        raise InputError("the new proxy password is empty (give it on stdin)")
    current = next(p for p in pool.connectable(list(ProxyState)) if p.url == url)
    user = username or current.username
    if user is None:
        raise InputError(f"{url} has no username: give --username")
    updated = current.model_copy(
        update={
            "username": user,
            "password": SecretStr(password),
            "source": shown.source,
            "tags": shown.tags,
        }
    )
    pool.upsert([updated])
    return f"{url}: new credentials for {user} stored (sealed), state {shown.state.value} kept"
