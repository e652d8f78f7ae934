"""Per-domain extraction patterns, versioned in ``opslib.extraction_patterns``, and the
reference pages ``opslib patterns verify`` runs them against (``opslib.reference_pages``).

Scrapers read a domain's active pattern with :meth:`PatternStore.active`: the whole table of
active patterns is read at most once per ``cache_seconds`` (one small query) and answered from
memory in between, like ``MaintenanceMode.is_active``. Operators change patterns with
``deploy`` and ``rollback`` (under an advisory lock, audited by the command line).

Reference pages are stored gzip-compressed in the opslib schema (not in a directory): they are
backed up with it, reach every host that runs ``verify``, and a product page is 5-50 kB
compressed.
"""

from __future__ import annotations

import gzip
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, LiteralString

from opslib.adapters import Database
from opslib.audit import current_actor
from opslib.errors import ConfigError, OpsError, UnsafeActionError
from opslib.extraction._types import Pattern

__all__ = ["PatternStore", "PatternVersion", "ReferencePage"]

_log = logging.getLogger(__name__)

_LOCK = 0x7061747465726E  # "pattern": one deploy or rollback at a time, across processes
_NEVER = float("-inf")
_COLUMNS: LiteralString = (
    "domain, version, kind, selector, attribute, currency, decimal_separator, regex, confidence,"
    " tested_accuracy, tested_pages, note, actor, created_at, active, changed_at"
)
MAX_REFERENCE_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class PatternVersion:
    """One stored version of a domain's pattern."""

    domain: str
    version: int
    pattern: Pattern
    active: bool
    tested_accuracy: float | None
    tested_pages: int | None
    note: str
    actor: str
    created_at: datetime
    changed_at: datetime

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> PatternVersion:
        return cls(
            domain=row["domain"],
            version=row["version"],
            pattern=_pattern(row),
            active=row["active"],
            tested_accuracy=row["tested_accuracy"],
            tested_pages=row["tested_pages"],
            note=row["note"],
            actor=row["actor"],
            created_at=row["created_at"],
            changed_at=row["changed_at"],
        )

    def summary(self) -> dict[str, Any]:
        p = self.pattern
        return {
            "domain": self.domain,
            "version": self.version,
            "active": self.active,
            "kind": p.kind,
            "selector": p.selector,
            "attribute": p.attribute,
            "currency": p.currency,
            "decimal_separator": p.decimal_separator,
            "regex": p.regex,
            "confidence": p.confidence,
            "tested_accuracy": self.tested_accuracy,
            "tested_pages": self.tested_pages,
            "note": self.note,
            "actor": self.actor,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class ReferencePage:
    """A stored page of a domain and the price a shopper sees on it (None: no price)."""

    domain: str
    name: str
    html: bytes
    price: Decimal | None
    currency: str | None
    source: str
    added_at: datetime


def _pattern(row: Mapping[str, Any]) -> Pattern:
    return Pattern(
        selector=row["selector"],
        kind=row["kind"],
        attribute=row["attribute"],
        currency=(row["currency"] or "").strip() or None,
        decimal_separator=row["decimal_separator"],
        confidence=float(row["confidence"]),
        regex=row["regex"],
    )


def normalise_domain(domain: str) -> str:
    name = domain.strip().lower().rstrip(".")
    if not name or len(name) > 253 or any(c.isspace() or c == "/" for c in name):
        raise ConfigError(f"not a domain name: {domain!r}")
    return name


class PatternStore:
    """The domains' patterns and reference pages in the opslib schema.

    ``active(domain)`` is what scrapers call per page: cached for ``cache_seconds`` (``clock``
    injectable for tests), thread-safe; when the database cannot be read it keeps answering
    with the last patterns it read. Give it a :class:`Database` of its own.
    """

    def __init__(
        self,
        db: Database,
        *,
        cache_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._ttl = cache_seconds
        self._clock = clock
        self._state: tuple[float, dict[str, Pattern]] = (_NEVER, {})
        self._lock = threading.Lock()
        self._failing: str | None = None

    # the scrapers' side

    def active(self, domain: str) -> Pattern | None:
        """The domain's active pattern, or None (the engine then reads structured data and
        the model). Answered from memory for ``cache_seconds`` after each read."""
        expires, patterns = self._state
        if self._clock() >= expires:
            patterns = self._refresh()
        return patterns.get(domain.lower().rstrip("."))

    def invalidate(self) -> None:
        """Forget the cached patterns: the next ``active`` reads the database."""
        self._state = (_NEVER, self._state[1])

    @property
    def unreachable(self) -> str | None:
        """Why the last read failed (the last patterns read are kept meanwhile), or None."""
        return self._failing

    def _refresh(self) -> dict[str, Pattern]:
        with self._lock:
            if self._clock() < self._state[0]:
                return self._state[1]
            try:
                rows = self._db.fetch_all(
                    "SELECT " + _COLUMNS + " FROM opslib.extraction_patterns WHERE active"
                )
            except OpsError as exc:
                if self._failing is None:
                    _log.warning("extraction patterns cannot be read (keeping the last): %s", exc)
                self._failing = str(exc)
                patterns = self._state[1]
            else:
                self._failing = None
                patterns = {r["domain"]: _pattern(r) for r in rows}
            self._state = (self._clock() + self._ttl, patterns)
            return patterns

    # the operators' side

    def versions(self, domain: str | None = None) -> list[PatternVersion]:
        """Every stored version (of ``domain``), by domain, newest first."""
        rows = self._db.fetch_all(
            "SELECT " + _COLUMNS + " FROM opslib.extraction_patterns"
            " WHERE %(d)s::text IS NULL OR domain = %(d)s ORDER BY domain, version DESC",
            {"d": None if domain is None else normalise_domain(domain)},
        )
        return [PatternVersion.from_row(r) for r in rows]

    def current(self, domain: str) -> PatternVersion | None:
        """The domain's active version, read now (never cached)."""
        return next((v for v in self.versions(domain) if v.active), None)

    def deploy(
        self,
        domain: str,
        pattern: Pattern,
        *,
        tested_accuracy: float | None = None,
        tested_pages: int | None = None,
        note: str = "",
        actor: str | None = None,
    ) -> PatternVersion:
        """Store ``pattern`` as the domain's next version and make it the active one."""
        domain = normalise_domain(domain)
        with self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            row = self._db.fetch_one(
                "SELECT coalesce(max(version), 0) + 1 AS v FROM opslib.extraction_patterns"
                " WHERE domain = %s",
                (domain,),
            )
            version = int(row["v"]) if row else 1
            self._db.execute(
                "UPDATE opslib.extraction_patterns SET active = false,"
                " changed_at = clock_timestamp() WHERE domain = %s AND active",
                (domain,),
            )
            self._db.execute(
                "INSERT INTO opslib.extraction_patterns (domain, version, kind, selector,"
                " attribute, currency, decimal_separator, regex, confidence, tested_accuracy,"
                " tested_pages, note, actor, active)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, true)",
                (
                    domain,
                    version,
                    pattern.kind,
                    pattern.selector,
                    pattern.attribute,
                    pattern.currency,
                    pattern.decimal_separator,
                    pattern.regex,
                    pattern.confidence,
                    tested_accuracy,
                    tested_pages,
                    note[:500],
                    actor or current_actor(),
                ),
            )
        self.invalidate()
        found = self.current(domain)
        assert found is not None
        return found

    def plan_rollback(self, domain: str, to: int | None = None) -> tuple[int | None, int | None]:
        """(active version now, version a rollback makes active; None: no pattern)."""
        versions = self.versions(domain)
        current = next((v.version for v in versions if v.active), None)
        if not versions:
            raise UnsafeActionError(f"{domain} has no extraction pattern to roll back")
        if to is not None:
            if to not in {v.version for v in versions}:
                raise UnsafeActionError(f"{domain} has no pattern version {to}")
            if to == current:
                raise UnsafeActionError(f"version {to} of {domain} is already active")
            return current, to
        if current is None:
            raise UnsafeActionError(
                f"{domain} has no active pattern; name the version to make active: --to N"
            )
        earlier = [v.version for v in versions if v.version < current]
        return current, (max(earlier) if earlier else None)

    def rollback(self, domain: str, to: int | None = None) -> tuple[int | None, int | None]:
        """Make the version before the active one active (or ``to``); with no earlier version
        the domain is left without a pattern. Returns (was active, now active)."""
        domain = normalise_domain(domain)
        with self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            current, target = self.plan_rollback(domain, to)
            self._db.execute(
                "UPDATE opslib.extraction_patterns SET active = false,"
                " changed_at = clock_timestamp() WHERE domain = %s AND active",
                (domain,),
            )
            if target is not None:
                self._db.execute(
                    "UPDATE opslib.extraction_patterns SET active = true,"
                    " changed_at = clock_timestamp() WHERE domain = %s AND version = %s",
                    (domain, target),
                )
        self.invalidate()
        return current, target

    # reference pages

    def add_reference(
        self,
        domain: str,
        name: str,
        html: bytes | str,
        price: Decimal | None,
        currency: str | None = None,
        *,
        source: str = "operator",
        actor: str | None = None,
    ) -> bool:
        """Store (or replace, by name) a reference page; True if it replaced one."""
        domain = normalise_domain(domain)
        data = html.encode("utf-8") if isinstance(html, str) else html
        if not data.strip():
            raise ConfigError(f"reference page {name!r} is empty")
        if len(data) > MAX_REFERENCE_BYTES:
            raise ConfigError(
                f"reference page {name!r} is {len(data) / 1e6:.1f} MB (at most"
                f" {MAX_REFERENCE_BYTES / 1024 / 1024:g} MB)"
            )
        row = self._db.fetch_one(
            "INSERT INTO opslib.reference_pages (domain, name, page_gz, price, currency, source,"
            " actor) VALUES (%s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (domain, name) DO UPDATE SET page_gz = EXCLUDED.page_gz,"
            " price = EXCLUDED.price, currency = EXCLUDED.currency, source = EXCLUDED.source,"
            " actor = EXCLUDED.actor, added_at = now()"
            " RETURNING (xmax <> 0) AS replaced",
            (
                domain,
                name[:2000],
                gzip.compress(data, 6),
                price,
                currency.upper() if currency else None,
                source,
                actor or current_actor(),
            ),
        )
        return bool(row and row["replaced"])

    def references(self, domain: str) -> list[ReferencePage]:
        """The domain's reference pages, by name."""
        rows = self._db.fetch_all(
            "SELECT domain, name, page_gz, price, currency, source, added_at"
            " FROM opslib.reference_pages WHERE domain = %s ORDER BY name",
            (normalise_domain(domain),),
        )
        return [
            ReferencePage(
                r["domain"],
                r["name"],
                gzip.decompress(bytes(r["page_gz"])),
                r["price"],
                (r["currency"] or "").strip() or None,
                r["source"],
                r["added_at"],
            )
            for r in rows
        ]

    def reference_counts(self) -> dict[str, int]:
        """How many reference pages each domain has."""
        rows = self._db.fetch_all(
            "SELECT domain, count(*) AS n FROM opslib.reference_pages GROUP BY domain"
        )
        return {r["domain"]: int(r["n"]) for r in rows}

    def remove_references(self, domain: str, names: list[str] | None = None) -> int:
        """Remove the named reference pages of ``domain`` (all of them without names)."""
        return self._db.execute(
            "DELETE FROM opslib.reference_pages WHERE domain = %(d)s"
            " AND (%(n)s::text[] IS NULL OR name = ANY(%(n)s))",
            {"d": normalise_domain(domain), "n": names},
        )
