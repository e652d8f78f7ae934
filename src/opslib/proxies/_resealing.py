"""``opslib proxies encrypt``: seal every stored proxy password under the first key (or open
them all again), in one transaction over rows locked in URL order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import LiteralString

from opslib.errors import ConfigError
from opslib.proxies._pool import ProxyPool
from opslib.proxies._sealing import PasswordSealer

__all__ = ["Resealing", "reseal_passwords"]

_LOCKED: LiteralString = """
SELECT id, password FROM opslib.proxies WHERE password IS NOT NULL
ORDER BY url COLLATE "C" FOR UPDATE
"""
_WRITE: LiteralString = "UPDATE opslib.proxies SET password = %s WHERE id = %s"


@dataclass(frozen=True)
class Resealing:
    """What ``opslib proxies encrypt`` changed (or, dry, would change), by row count."""

    sealed: int
    """Plain-text passwords sealed."""
    rekeyed: int
    """Passwords sealed under an older key, sealed again under the first."""
    opened: int
    """Sealed passwords written back as plain text (``decrypt``)."""
    unchanged: int
    """Passwords already as wanted."""
    dry_run: bool

    @property
    def changed(self) -> int:
        """Rows written (or that would be)."""
        return self.sealed + self.rekeyed + self.opened

    @property
    def summary(self) -> str:
        """One line for the terminal and the audit log."""
        verb = "would change" if self.dry_run else "changed"
        return (
            f"{verb} {self.changed} proxy passwords: {self.sealed} sealed, {self.rekeyed}"
            f" re-keyed, {self.opened} decrypted; {self.unchanged} unchanged"
        )


def reseal_passwords(pool: ProxyPool, *, decrypt: bool = False, dry_run: bool = False) -> Resealing:
    """Seal every plain or stale password under the pool's first key, or with ``decrypt``
    write every sealed one back as plain text. Raises :class:`ConfigError` without keys."""
    sealer = PasswordSealer(pool.settings.encryption_keys)
    if not sealer.enabled:
        raise ConfigError(
            "no encryption key",
            ("proxies.encryption_keys: not set (OPSLIB_PROXIES__ENCRYPTION_KEYS)",),
        )
    counts = {"sealed": 0, "rekeyed": 0, "opened": 0, "unchanged": 0}
    writes: list[tuple[str, int]] = []
    db = pool.database
    with db.transaction():
        for row in db.fetch_all(_LOCKED):
            stored: str = row["password"]
            state = sealer.freshness(stored)
            if decrypt and state != "plain":
                counts["opened"] += 1
                writes.append((sealer.open(stored), row["id"]))
            elif not decrypt and state == "plain":
                counts["sealed"] += 1
                writes.append((sealer.seal(stored), row["id"]))
            elif not decrypt and state == "stale":
                counts["rekeyed"] += 1
                writes.append((sealer.seal(sealer.open(stored)), row["id"]))
            else:
                counts["unchanged"] += 1
        if writes and not dry_run:
            db.execute_many(_WRITE, writes)
    return Resealing(**counts, dry_run=dry_run)
