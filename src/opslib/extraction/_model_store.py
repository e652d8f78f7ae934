"""Trained price-element models, versioned in ``opslib.extraction_models``: deploy, rollback,
and the active one for scrapers (``ModelStore(db).active()``, cached; None: the shipped model).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opslib.adapters import Database
from opslib.audit import current_actor
from opslib.errors import InputError, OpsError, UnsafeActionError
from opslib.extraction._model import PriceModel

__all__ = ["ModelStore", "ModelVersion", "parse_model"]

_log = logging.getLogger(__name__)
_LOCK = 0x6D6F64656C  # "model": one deploy or rollback at a time
_NEVER = float("-inf")
MAX_MODEL_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class ModelVersion:
    """One stored model file."""

    version: int
    sha256: str
    bytes: int
    note: str
    actor: str
    created_at: datetime
    active: bool

    def summary(self) -> dict[str, Any]:
        return {**self.__dict__, "created_at": self.created_at.isoformat()}


def parse_model(data: bytes) -> PriceModel:
    """A model file's content as a :class:`PriceModel`; InputError when it is not one."""
    if len(data) > MAX_MODEL_BYTES:
        raise InputError(f"model file is {len(data) / 1e6:.1f} MB (at most 5 MB)")
    try:
        raw = json.loads(data.decode("utf-8"))
        return PriceModel(
            {str(k): float(v) for k, v in raw["weights"].items()},
            (float(raw["platt"][0]), float(raw["platt"][1])),
            raw.get("meta", {}),
        )
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise InputError(f"not a price model file (opslib models train --out): {exc}") from exc


class ModelStore:
    """The deployed models. ``active()`` is cached for ``cache_seconds`` (``clock``
    injectable); an unreadable database keeps the last model read."""

    def __init__(
        self,
        db: Database,
        *,
        cache_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._ttl = cache_seconds
        self._clock = clock
        self._state: tuple[float, str | None, PriceModel | None] = (_NEVER, None, None)
        self._lock = threading.Lock()

    def active(self) -> PriceModel | None:
        """The active model (None: the one shipped in the package), from memory between reads;
        the file is read again only when another version became active."""
        expires, _sha, model = self._state
        if self._clock() < expires:
            return model
        with self._lock:
            expires, sha, model = self._state
            if self._clock() < expires:
                return model
            try:
                row = self._db.fetch_one("SELECT sha256 FROM opslib.extraction_models WHERE active")
                if row is None:
                    sha, model = None, None
                elif row["sha256"] != sha:
                    data = self._db.fetch_one(
                        "SELECT model_gz FROM opslib.extraction_models WHERE sha256 = %s"
                        " AND active",
                        (row["sha256"],),
                    )
                    if data is not None:
                        sha = row["sha256"]
                        model = parse_model(gzip.decompress(bytes(data["model_gz"])))
            except (OpsError, OSError, EOFError) as exc:
                _log.warning("extraction model cannot be read (keeping the last): %s", exc)
            self._state = (self._clock() + self._ttl, sha, model)
            return model

    def versions(self) -> list[ModelVersion]:
        """Every stored model, newest first."""
        rows = self._db.fetch_all(
            "SELECT version, sha256, bytes, note, actor, created_at, active"
            " FROM opslib.extraction_models ORDER BY version DESC"
        )
        return [ModelVersion(**r) for r in rows]

    def deploy(self, data: bytes, *, note: str = "", actor: str | None = None) -> ModelVersion:
        """Store the model file ``data`` as the next version and make it active."""
        parse_model(data)
        with self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            row = self._db.fetch_one(
                "SELECT coalesce(max(version), 0) + 1 AS v FROM opslib.extraction_models"
            )
            version = int(row["v"]) if row else 1
            self._db.execute(
                "UPDATE opslib.extraction_models SET active = false,"
                " changed_at = clock_timestamp() WHERE active"
            )
            self._db.execute(
                "INSERT INTO opslib.extraction_models (version, model_gz, sha256, bytes, note,"
                " actor, active) VALUES (%s, %s, %s, %s, %s, %s, true)",
                (
                    version,
                    gzip.compress(data, 6),
                    hashlib.sha256(data).hexdigest(),
                    len(data),
                    note[:500],
                    actor or current_actor(),
                ),
            )
        self._state = (_NEVER, *self._state[1:])
        return self.versions()[0]

    def plan_rollback(self, to: int | None = None) -> tuple[int | None, int | None]:
        """(active version now, version a rollback makes active; None: the shipped model)."""
        versions = self.versions()
        current = next((v.version for v in versions if v.active), None)
        if to is not None:
            if to not in {v.version for v in versions}:
                raise UnsafeActionError(f"no model version {to}")
            if to == current:
                raise UnsafeActionError(f"model version {to} is already active")
            return current, to
        if current is None:
            raise UnsafeActionError("no model deployed: the shipped one is in use (--to N)")
        earlier = [v.version for v in versions if v.version < current]
        return current, (max(earlier) if earlier else None)

    def rollback(self, to: int | None = None) -> tuple[int | None, int | None]:
        """Make the previous version (or ``to``) active; before the first: the shipped model."""
        with self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            current, target = self.plan_rollback(to)
            self._db.execute(
                "UPDATE opslib.extraction_models SET active = false,"
                " changed_at = clock_timestamp() WHERE active"
            )
            if target is not None:
                self._db.execute(
                    "UPDATE opslib.extraction_models SET active = true,"
                    " changed_at = clock_timestamp() WHERE version = %s",
                    (target,),
                )
        self._state = (_NEVER, *self._state[1:])
        return current, target
