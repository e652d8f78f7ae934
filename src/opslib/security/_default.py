"""The process-wide blocklist behind :func:`opslib.security.is_blocked`, built on first use."""

from __future__ import annotations

import threading

from opslib.security._blocklist import Blocklist

__all__ = ["default_blocklist", "is_blocked"]

_lock = threading.Lock()
_default: list[Blocklist] = []


def default_blocklist() -> Blocklist:
    """The blocklist of the configured platform (``load_settings()``), with a connection of its
    own; built once per process."""
    if not _default:
        with _lock:
            if not _default:
                from opslib.config import load_settings
                from opslib.connect import open_database

                settings = load_settings()
                db = open_database(settings, application_name="opslib-blocklist")
                _default.append(Blocklist(db, settings.security))
    return _default[0]


def is_blocked(ip: str) -> bool:
    """Whether the address ``ip`` is blocked on the configured platform (cached: the blocklist
    is read at most once per ``security.cache_seconds``; O(log n) in the blocked networks)."""
    return default_blocklist().is_blocked(ip)
