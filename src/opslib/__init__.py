"""opslib: the operations runbook of a price-monitoring scraping fleet, as code.

The top level holds what a service imports; names load on first use, so ``import opslib``
(and the pytest plugin, and the command line) pay only for what they touch::

    from opslib import NoProxyAvailable, Outcome, ProxyPool, load_settings, open_database

The runbook areas live in their own packages (``opslib.proxies``, ``opslib.backups``, ...).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opslib.adapters import Database
    from opslib.config import ProxySettings, Settings, load_settings
    from opslib.connect import open_database
    from opslib.domains import DomainControls, Strategy
    from opslib.errors import (
        ConfigError,
        DataError,
        DependencyError,
        NoProxyAvailable,
        OpsError,
        UnreachableError,
        UnsafeActionError,
    )
    from opslib.maintenance import MaintenanceMode, MaintenanceWindow
    from opslib.proxies import DomainPolicy, Lease, Outcome, ProxyPool, ProxyState
    from opslib.ratelimit import RateLimiter, RateLimitTimeout

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DataError",
    "Database",
    "DependencyError",
    "DomainControls",
    "DomainPolicy",
    "Lease",
    "MaintenanceMode",
    "MaintenanceWindow",
    "NoProxyAvailable",
    "OpsError",
    "Outcome",
    "ProxyPool",
    "ProxySettings",
    "ProxyState",
    "RateLimitTimeout",
    "RateLimiter",
    "Settings",
    "Strategy",
    "UnreachableError",
    "UnsafeActionError",
    "load_settings",
    "open_database",
]

_HOME = {
    "Database": "opslib.adapters",
    "MaintenanceMode": "opslib.maintenance",
    "MaintenanceWindow": "opslib.maintenance",
    "ProxySettings": "opslib.config",
    "Settings": "opslib.config",
    "load_settings": "opslib.config",
    "open_database": "opslib.connect",
    **dict.fromkeys(("DomainControls", "Strategy"), "opslib.domains"),
    **dict.fromkeys(("RateLimitTimeout", "RateLimiter"), "opslib.ratelimit"),
    **dict.fromkeys(
        (
            "ConfigError",
            "DataError",
            "DependencyError",
            "NoProxyAvailable",
            "OpsError",
            "UnreachableError",
            "UnsafeActionError",
        ),
        "opslib.errors",
    ),
    **dict.fromkeys(
        ("DomainPolicy", "Lease", "Outcome", "ProxyPool", "ProxyState"), "opslib.proxies"
    ),
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'opslib' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
