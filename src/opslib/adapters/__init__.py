"""Thin adapters over PostgreSQL, Prometheus, metrics endpoints and the Docker engine.

Each translates its library's exceptions into :mod:`opslib.errors` and is bounded by timeouts.
"""

from opslib.adapters._postgres import Database, Query, Row

__all__ = ["Database", "Query", "Row"]
