"""The configured platform tables as the server has them: which exist, with which columns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, LiteralString

from psycopg import sql

from opslib.adapters import Database
from opslib.config import PlatformTables
from opslib.errors import DependencyError

__all__ = ["PlatformSchema", "TableKey"]

TableKey = Literal["monitored_urls", "price_history", "scrape_logs"]
"""A platform table by its runbook name (the key of its section in ``[tables]``)."""

_KEYS: tuple[TableKey, ...] = ("monitored_urls", "price_history", "scrape_logs")

# One round trip for every table: to_regclass resolves the name as a query would (search_path
# for an unqualified one); quote_ident keeps the case the setting gives, as sql.Identifier does.
_COLUMNS: LiteralString = """
SELECT t.key, c.oid IS NOT NULL AS present,
       ARRAY(SELECT a.attname::text FROM pg_attribute a
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns
FROM unnest(%(keys)s::text[], %(schemas)s::text[], %(names)s::text[]) AS t(key, nsp, rel)
LEFT JOIN LATERAL (
    SELECT to_regclass(CASE WHEN t.nsp IS NULL THEN quote_ident(t.rel)
                            ELSE quote_ident(t.nsp) || '.' || quote_ident(t.rel) END)::oid AS oid
) c ON true
"""


@dataclass(frozen=True)
class PlatformSchema:
    """The columns of each configured platform table (``None``: the table does not exist).

    Read once per check with :meth:`read`; :meth:`missing` says in one line what is absent and
    which setting provides it; :meth:`table` and :meth:`column` give the identifiers for SQL.
    """

    tables: PlatformTables
    columns: Mapping[TableKey, frozenset[str] | None]

    @classmethod
    def read(cls, db: Database, tables: PlatformTables) -> PlatformSchema:
        """Look the configured tables and their columns up in the catalog (one query)."""
        names = [getattr(tables, key).name for key in _KEYS]
        split = [n.split(".", 1) if "." in n else [None, n] for n in names]
        rows = db.fetch_all(
            _COLUMNS,
            {"keys": list(_KEYS), "schemas": [s for s, _ in split], "names": [r for _, r in split]},
        )
        found: dict[TableKey, frozenset[str] | None] = dict.fromkeys(_KEYS)
        for row in rows:
            key = next(k for k in _KEYS if k == row["key"])
            found[key] = frozenset(row["columns"]) if row["present"] else None
        return cls(tables, found)

    def name(self, key: TableKey) -> str:
        """The configured name of table ``key``."""
        return str(getattr(self.tables, key).name)

    def column_name(self, key: TableKey, field: str) -> str:
        """The configured name of column ``field`` of table ``key``."""
        return str(getattr(getattr(self.tables, key), field))

    def has(self, key: TableKey, *fields: str) -> bool:
        """Table ``key`` exists with every column ``fields`` names."""
        return self.missing(key, *fields) is None

    def missing(self, key: TableKey, *fields: str) -> str | None:
        """One line naming the first absent piece and the setting that provides it, or None."""
        present = self.columns[key]
        if present is None:
            return (
                f"table {self.name(key)} not found (the runbook's {key}): create it, or set"
                f" tables.{key}.name to the platform's table"
            )
        for field in fields:
            column = self.column_name(key, field)
            if column not in present:
                return (
                    f"table {self.name(key)} has no column {column}: set tables.{key}.{field}"
                    " to the column that holds it"
                )
        return None

    def require(self, key: TableKey, *fields: str) -> None:
        """Raise :class:`DependencyError` with :meth:`missing`'s line when a piece is absent."""
        reason = self.missing(key, *fields)
        if reason is not None:
            raise DependencyError("postgresql", reason)

    def table(self, key: TableKey) -> sql.Identifier:
        """Table ``key`` for SQL (schema-qualified when configured so)."""
        return sql.Identifier(*self.name(key).split("."))

    def column(self, key: TableKey, field: str) -> sql.Identifier:
        """Column ``field`` of table ``key`` for SQL."""
        return sql.Identifier(self.column_name(key, field))
