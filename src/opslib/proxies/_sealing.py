"""Proxy passwords at rest: sealed with Fernet keys from the settings, opened for the scrapers.

With ``proxies.encryption_keys`` set, every password the pool writes is a Fernet token behind
:data:`SEALED_PREFIX` (AES-128-CBC + HMAC-SHA256, from the ``cryptography`` package), so a
``pg_dump`` of the database carries no usable proxy password. The first key seals; every key
opens, so keys rotate without downtime: put the new key first, run ``opslib proxies encrypt``
(it re-seals every row under the first key), then drop the old one. Rows written before
encryption was switched on stay readable as plain text until ``opslib proxies encrypt`` seals
them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import SecretStr

from opslib.errors import ConfigError, DataError

if TYPE_CHECKING:
    from cryptography.fernet import Fernet, MultiFernet

__all__ = ["SEALED_PREFIX", "PasswordSealer"]

SEALED_PREFIX = "fernet:v1:"
"""What a sealed password starts with in ``opslib.proxies.password``."""

_KEYS_SETTING = "proxies.encryption_keys (OPSLIB_PROXIES__ENCRYPTION_KEYS)"

Freshness = Literal["plain", "current", "stale"]


@dataclass(frozen=True)
class _Keys:
    fernet: MultiFernet
    primary: Fernet  # the first key alone, to tell current tokens from stale ones


class PasswordSealer:
    """Seals and opens proxy passwords with ``keys`` (none: passwords are stored as given)."""

    def __init__(self, keys: Sequence[SecretStr] = ()) -> None:
        self._secrets = tuple(keys)
        self._keys: _Keys | None = None

    @property
    def enabled(self) -> bool:
        """Whether new passwords are sealed."""
        return bool(self._secrets)

    def seal(self, password: str) -> str:
        """``password`` as stored: a token under the first key, or as given without keys."""
        if not self.enabled:
            if password.startswith(SEALED_PREFIX):
                raise DataError(f"a proxy password may not start with {SEALED_PREFIX!r}")
            return password
        token = self._load().fernet.encrypt(password.encode("utf-8"))
        return SEALED_PREFIX + token.decode("ascii")

    def open(self, stored: str) -> str:
        """The password behind ``stored`` (plain text is returned as it is)."""
        if not stored.startswith(SEALED_PREFIX):
            return stored
        if not self.enabled:
            raise ConfigError(
                f"the pool's proxy passwords are encrypted: set {_KEYS_SETTING} to their key"
            )
        from cryptography.fernet import InvalidToken

        try:
            return self._load().fernet.decrypt(stored[len(SEALED_PREFIX) :]).decode("utf-8")
        except InvalidToken:
            raise ConfigError(
                f"a proxy password was encrypted with a key that is not in {_KEYS_SETTING}"
            ) from None

    def freshness(self, stored: str) -> Freshness:
        """``plain``, ``current`` (sealed under the first key) or ``stale`` (an older key)."""
        if not stored.startswith(SEALED_PREFIX):
            return "plain"
        self.open(stored)  # raises when no key opens it
        from cryptography.fernet import InvalidToken

        try:
            self._load().primary.decrypt(stored[len(SEALED_PREFIX) :])
        except InvalidToken:
            return "stale"
        return "current"

    def _load(self) -> _Keys:
        if self._keys is None:
            try:
                from cryptography.fernet import Fernet, MultiFernet
            except ImportError:
                raise ConfigError(
                    "encrypted proxy passwords need the cryptography package:"
                    " pip install 'opslib[encryption]'"
                ) from None
            fernets = [Fernet(key.get_secret_value()) for key in self._secrets]
            self._keys = _Keys(MultiFernet(fernets), fernets[0])
        return self._keys
