"""The one exception tree of opslib.

Every error that leaves the public API is an :class:`OpsError`; third-party exceptions
(psycopg, httpx, docker, pydantic) are translated at the adapter edge::

    OpsError
    ├── ConfigError           bad configuration: fix the file or the environment (exit 2)
    ├── DependencyError       a dependency answered, but with an error
    │   └── UnreachableError  a dependency could not be reached in time (checks end UNKNOWN)
    ├── DataError             data that cannot be trusted: garbage metrics, NULLs
    │   └── InputError        input given to a command that cannot be used: a missing file,
    │                         a directory or FIFO where a list should be (exit 2)
    ├── NoProxyAvailable      the proxy pool has no eligible proxy for a domain (empty, banned)
    ├── UnsafeActionError     an action refused because it would do harm
    └── LabError              the built-in lab could not do what was asked
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DataError",
    "DependencyError",
    "InputError",
    "LabError",
    "NoProxyAvailable",
    "OpsError",
    "UnreachableError",
    "UnsafeActionError",
]


class OpsError(Exception):
    """Root of every error opslib raises on purpose."""

    exit_code: int = 3


class ConfigError(OpsError):
    """The configuration is invalid; ``problems`` holds one line per bad field."""

    exit_code = 2

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


class DependencyError(OpsError):
    """A dependency (PostgreSQL, Prometheus, Docker, a metrics endpoint) answered with an error."""

    def __init__(self, dependency: str, message: str) -> None:
        super().__init__(f"{dependency}: {message}")
        self.dependency = dependency
        self.reason = message


class UnreachableError(DependencyError):
    """A dependency could not be reached within its timeout."""


class DataError(OpsError):
    """Data that cannot be used: malformed, missing or out of range."""


class InputError(DataError):
    """Input the operator gave (a file, a list) cannot be used: fix the input (exit 2)."""

    exit_code = 2


class NoProxyAvailable(OpsError):
    """No proxy may be handed out for ``domain``; ``reason`` says why (empty, banned, busy).
    ``banned`` is true when the domain has banned every active proxy: the site is blocking
    the pool, not the pool failing."""

    exit_code = 2

    def __init__(self, domain: str, reason: str, *, banned: bool = False) -> None:
        super().__init__(f"no proxy available for {domain}: {reason}")
        self.domain = domain
        self.reason = reason
        self.banned = banned


class UnsafeActionError(OpsError):
    """An action that was refused because it would lose data or break the platform."""


class LabError(OpsError):
    """The built-in lab could not start, stop or change as asked."""
