"""Test databases whose DSN the tests know (they made the cluster), for CLI subprocesses.

opslib's own :class:`Database` never gives its DSN back; tests that start ``opslib`` with
``OPSLIB_DATABASE_DSN`` keep the DSN they built beside the adapter.
"""

from __future__ import annotations

from opslib.adapters import Database

__all__ = ["TestDatabase"]


class TestDatabase(Database):
    """A :class:`Database` of the test cluster, with the DSN it was opened with."""

    __test__ = False  # not a test class, whatever pytest's name rules think

    def __init__(self, dsn: str, *, statement_timeout: float = 15.0) -> None:
        super().__init__(dsn, statement_timeout=statement_timeout)
        self.dsn = dsn
