"""API keys in ``opslib.api_keys``: created (shown once), rotated with an overlap window,
revoked at once, verified by the API through :meth:`KeyStore.verify`.

A key is ``opk_<prefix>_<secret>``; the store keeps ``HMAC-SHA256(pepper, key)`` and the
prefix, never the key. The pepper (``security.key_pepper``) lives in the settings or the
environment, not in the database, so a dump of the table verifies nothing. Each verification
reads the row by its hash (an index lookup, no cache): a revocation holds from the next request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, LiteralString

from opslib.adapters import Database
from opslib.audit import current_actor
from opslib.config import Settings
from opslib.errors import ConfigError, InputError
from opslib.results import CheckResult, Measurement, Table

__all__ = ["ApiKey", "KeyStore", "check_key_age", "key_store"]

_SOP = "emergency.security"
_KEY = re.compile(r"opk_([A-Za-z0-9]{10})_[A-Za-z0-9_-]{20,100}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,62}")
_COLUMNS: LiteralString = (
    "id, name, prefix, actor, created_at, expires_at, revoked_at, revoked_by, reason, replaces"
)
_LIVE: LiteralString = "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())"
_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_LOCK = 0x6B657973  # "keys": one key change at a time


@dataclass(frozen=True)
class ApiKey:
    """One stored key (never the key itself: its public prefix and its history)."""

    id: int
    name: str
    prefix: str
    actor: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    reason: str | None
    replaces: int | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ApiKey:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})

    def state(self, now: datetime) -> str:
        """``live``, ``expiring`` (in its overlap window), ``expired`` or ``revoked``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is None:
            return "live"
        return "expiring" if self.expires_at > now else "expired"

    def live(self, now: datetime) -> bool:
        """Accepted at ``now``."""
        return self.state(now) in ("live", "expiring")

    def as_dict(self, now: datetime | None = None) -> dict[str, Any]:
        """JSON-ready (no secret)."""
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "actor": self.actor,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "revoked_by": self.revoked_by,
            "reason": self.reason,
            "replaces": self.replaces,
        }
        if now is not None:
            out["state"] = self.state(now)
        return out


def _new_key() -> tuple[str, str]:
    prefix = "".join(secrets.choice(_ALNUM) for _ in range(10))
    return prefix, f"opk_{prefix}_{secrets.token_urlsafe(32)}"


class KeyStore:
    """The API keys in the ``opslib`` schema of ``db``, hashed with ``pepper`` (listing and
    revoking need none; creating and verifying do)."""

    def __init__(self, db: Database, pepper: str | None) -> None:
        if pepper is not None and len(pepper) < 16:
            raise ConfigError("security.key_pepper: at least 16 characters")
        self._db = db
        self._pepper = pepper.encode() if pepper is not None else None

    def digest(self, key: str) -> bytes:
        """HMAC-SHA256 of ``key`` under the pepper."""
        if self._pepper is None:
            raise ConfigError(
                "security.key_pepper is not set (OPSLIB_SECURITY__KEY_PEPPER or [security]"
                " key_pepper): API keys are hashed with it"
            )
        return hmac.new(self._pepper, key.encode(), hashlib.sha256).digest()

    # the API's side

    def verify(self, key: str) -> ApiKey | None:
        """The live key ``key`` is, or None (malformed, unknown, expired or revoked)."""
        if not key or _KEY.fullmatch(key) is None:
            return None
        row = self._db.fetch_one(
            "SELECT " + _COLUMNS + " FROM opslib.api_keys WHERE hash = %s AND " + _LIVE,
            (self.digest(key),),
        )
        return ApiKey.from_row(row) if row else None

    # the operators' side

    def now(self) -> datetime:
        """The database's clock."""
        row = self._db.fetch_one("SELECT now() AS now")
        assert row is not None
        return row["now"]  # type: ignore[no-any-return]

    def entries(self, *, include_dead: bool = False) -> list[ApiKey]:
        """The live keys (with ``include_dead``, expired and revoked ones too), oldest first."""
        where: LiteralString = "TRUE" if include_dead else _LIVE
        rows = self._db.fetch_all(
            "SELECT " + _COLUMNS + " FROM opslib.api_keys WHERE " + where + " ORDER BY id"
        )
        return [ApiKey.from_row(r) for r in rows]

    def find(self, ident: str) -> list[ApiKey]:
        """The live keys ``ident`` names: an id, a prefix or a name."""
        text = ident.strip()
        rows = self._db.fetch_all(
            "SELECT " + _COLUMNS + " FROM opslib.api_keys WHERE " + _LIVE + " AND"
            " (prefix = %(t)s OR name = %(t)s OR id::text = %(t)s) ORDER BY id",
            {"t": text},
        )
        return [ApiKey.from_row(r) for r in rows]

    def create(
        self, name: str, *, actor: str | None = None, replaces: int | None = None
    ) -> tuple[ApiKey, str]:
        """A new key for client ``name``: the stored record and the key (shown once)."""
        if _NAME.fullmatch(name) is None:
            raise InputError(f"{name!r}: a key's name is letters, digits, _ . @ - (max 63)")
        prefix, key = _new_key()
        row = self._db.fetch_one(
            "INSERT INTO opslib.api_keys (name, prefix, hash, actor, replaces)"
            " VALUES (%s, %s, %s, %s, %s) RETURNING " + _COLUMNS,
            (name, prefix, self.digest(key), actor or current_actor(), replaces),
        )
        assert row is not None
        return ApiKey.from_row(row), key

    def _one(self, ident: str) -> ApiKey:
        found = self.find(ident)
        if not found:
            raise InputError(f"{ident!r}: no live key has this id, prefix or name")
        if len(found) > 1:
            shown = ", ".join(k.prefix for k in found)
            raise InputError(f"{ident!r} names {len(found)} live keys ({shown}): give a prefix")
        return found[0]

    def plan_rotate(self, ident: str) -> ApiKey:
        """The key :meth:`rotate` would replace (reads only)."""
        return self._one(ident)

    def rotate(
        self, ident: str, *, overlap: timedelta, actor: str | None = None
    ) -> tuple[ApiKey, str, ApiKey]:
        """Replace the key ``ident`` names: a new key (shown once) for the same client, and the
        old one accepted for ``overlap`` more (so the client can switch), then dead."""
        db = self._db
        with db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            old = self._one(ident)
            new, key = self.create(old.name, actor=actor, replaces=old.id)
            row = db.fetch_one(
                "UPDATE opslib.api_keys SET expires_at = CASE WHEN expires_at IS NULL"
                " THEN greatest(now() + %s, created_at + interval '1 microsecond')"
                " ELSE least(expires_at, greatest(now() + %s, created_at"
                " + interval '1 microsecond')) END, reason = %s"
                " WHERE id = %s RETURNING " + _COLUMNS,
                (overlap, overlap, f"rotated to {new.prefix}", old.id),
            )
            assert row is not None
        return new, key, ApiKey.from_row(row)

    def revoke(self, ident: str, *, reason: str, actor: str | None = None) -> list[ApiKey]:
        """Revoke at once every live key ``ident`` names (an id, a prefix, or a name: all of
        that client's keys); the revoked records."""
        text = " ".join(reason.split())
        if not text:
            raise InputError("--reason: say why (kept with the key and in the audit log)")
        db = self._db
        with db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            found = self.find(ident)
            if not found:
                raise InputError(f"{ident!r}: no live key has this id, prefix or name")
            rows = db.fetch_all(
                "UPDATE opslib.api_keys SET revoked_at = now(), revoked_by = %s, reason = %s"
                " WHERE id = ANY(%s) RETURNING " + _COLUMNS,
                (actor or current_actor(), text[:500], [k.id for k in found]),
            )
        return sorted((ApiKey.from_row(r) for r in rows), key=lambda k: k.id)


def key_store(db: Database, settings: Settings) -> KeyStore:
    """The key store of ``settings`` (creating and verifying raise ConfigError when
    ``security.key_pepper`` is not set)."""
    pepper = settings.security.key_pepper
    return KeyStore(db, pepper.get_secret_value() if pepper is not None else None)


def check_key_age(keys: list[ApiKey], now: datetime, settings: Settings) -> CheckResult:
    """No live key older than ``security.key_age_days`` (a key in its overlap window is
    judged by its successor)."""
    limit = settings.threshold("security.key_age_days")
    title = "age of the live API keys"
    measurements: list[Measurement] = []
    rows: list[tuple[str, ...]] = []
    for key in keys:
        if not key.live(now) or key.expires_at is not None:
            continue
        age = round((now - key.created_at).total_seconds() / 86400, 2)
        m = Measurement("key_age_days", age, limit, f"{key.name}/{key.prefix}")
        if m.severity.rank:
            m = Measurement(
                "key_age_days",
                age,
                limit,
                m.subject,
                f"next: opslib keys rotate {key.prefix} --overlap {settings.security.key_overlap}",
            )
        measurements.append(m)
        rows.append((key.name, key.prefix, f"{age:g}", key.created_at.isoformat()))
    if not measurements:
        measurements.append(Measurement("key_age_days", 0.0, limit, note="no live key"))
    oldest = sorted(measurements, key=lambda m: -(m.value or 0))
    stale = [m.subject for m in oldest if m.severity.rank]
    overlap = settings.security.key_overlap
    remediation = "; ".join(
        f"opslib keys rotate {subject.rpartition('/')[2]} --overlap {overlap} ({subject})"
        for subject in stale
    )
    table = Table(("client", "prefix", "age (days)", "created"), tuple(rows), "live keys")
    return CheckResult(_SOP, title, tuple(oldest), remediation, tables=(table,) if rows else ())
