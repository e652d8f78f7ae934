"""Monitoring for recurrence after an incident (runbook: monitor for recurrence): the access logs
analysed again against the incident's findings, the sources it blocked and the kinds of
evidence they showed.

Three kinds of recurrence, worst first: ``through`` (a source the incident blocked is still
answered, later than the block's cache time after it began), ``back`` (a source the incident
blocked, its block since expired or removed, is a suspect again) and ``pattern`` (a new source
showing the kind of evidence the incident's sources showed: authentication failures, probes,
rate ...). The kinds seen from the incident's sources are kept in ``opslib.incident_findings``,
so a later run still knows the pattern once the attacker's lines have left the window.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from opslib.adapters import Database
from opslib.config import Settings
from opslib.errors import InputError
from opslib.results import Severity
from opslib.security._analysis import Analysis, ClientReport
from opslib.security._blocklist import BlockEntry
from opslib.security._ranges import AddressSet

__all__ = [
    "Recurrence",
    "RecurrenceReport",
    "evidence_kinds",
    "monitor_for_recurrence",
    "watch_for_recurrence",
    "worst_recurrence",
]

Kind = Literal["through", "back", "pattern"]
_LEAD = timedelta(minutes=1)
_KINDS = (
    ("authentication failures", "auth"),
    ("requests/s", "rate"),
    ("requests failed", "errors"),
    ("sensitive/probe paths", "probes"),
    ("distinct paths", "paths"),
    ("burst of", "burst"),
    ("attack-tool user agent", "tool"),
    ("user agents (rotating)", "agents"),
)
_STRONG = frozenset({"auth", "probes", "rate"})  # kinds that alone make a pattern


def evidence_kinds(client: ClientReport) -> frozenset[str]:
    """The kinds of evidence against a suspect (``auth``, ``rate``, ``probes`` ...)."""
    return frozenset(kind for reason in client.reasons for text, kind in _KINDS if text in reason)


@dataclass(frozen=True)
class Recurrence:
    """One sign the incident is back: its kind, the client, the evidence and the action."""

    kind: Kind
    client: str
    detail: str
    action: str

    def as_dict(self) -> dict[str, str]:
        """JSON-ready."""
        return {"kind": self.kind, "client": self.client, "detail": self.detail,
                "action": self.action}  # fmt: skip


@dataclass(frozen=True)
class RecurrenceReport:
    """One pass of the monitor over the window of the access logs."""

    incident: int
    at: datetime
    watched: tuple[str, ...]
    pattern: frozenset[str]
    recurrences: tuple[Recurrence, ...]
    suspects: int
    lines: int

    @property
    def recurred(self) -> bool:
        """Whether anything came back."""
        return bool(self.recurrences)

    @property
    def severity(self) -> Severity:
        """CRITICAL when a blocked source gets through, WARNING on any other recurrence."""
        if any(r.kind == "through" for r in self.recurrences):
            return Severity.CRITICAL
        return Severity.WARNING if self.recurrences else Severity.OK

    def describe(self) -> str:
        """One line."""
        head = (
            f"{self.at:%H:%M:%S} incident {self.incident}: {self.lines} line(s),"
            f" {self.suspects} suspect(s), watching {len(self.watched)} blocked source(s)"
        )
        if not self.recurrences:
            return f"{head}: no recurrence"
        found = "; ".join(f"{r.kind} {r.client} ({r.detail})" for r in self.recurrences[:5])
        return f"{head}: RECURRED: {found}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "incident": self.incident,
            "at": self.at.isoformat(),
            "recurred": self.recurred,
            "severity": self.severity.name,
            "watched": list(self.watched),
            "pattern": sorted(self.pattern),
            "suspects": self.suspects,
            "lines": self.lines,
            "recurrences": [r.as_dict() for r in self.recurrences],
            "summary": self.describe(),
        }


def _incident(db: Database, incident: int | None) -> tuple[int, datetime, datetime | None]:
    if incident is None:
        row = db.fetch_one(
            "SELECT id, opened_at, closed_at FROM opslib.incidents WHERE closed_at IS NULL"
        )
        if row is None:
            raise InputError("no open incident: give --incident ID")
    else:
        row = db.fetch_one(
            "SELECT id, opened_at, closed_at FROM opslib.incidents WHERE id = %s", (incident,)
        )
        if row is None:
            raise InputError(f"no incident {incident}")
    return int(row["id"]), row["opened_at"], row["closed_at"]


def _blocks(db: Database, start: datetime) -> list[BlockEntry]:
    rows = db.fetch_all(
        "SELECT id, network, reason, actor, created_at, changed_at, expires_at, removed_at,"
        " removed_by FROM opslib.blocklist WHERE changed_at >= %s ORDER BY id",
        (start,),
    )
    return [BlockEntry.from_row(r) for r in rows]


def monitor_for_recurrence(
    db: Database,
    analysis: Analysis,
    settings: Settings,
    *,
    incident: int | None = None,
    now: datetime | None = None,
) -> RecurrenceReport:
    """Judge ``analysis`` (the access logs' recent window) against incident ``incident`` (the
    open one by default): its blocked sources and the kinds of evidence they showed. Records
    the kinds its sources show now in ``opslib.incident_findings``."""
    number, opened_at, _closed = _incident(db, incident)
    blocks = _blocks(db, opened_at - _LEAD)
    when = now if now is not None else _db_now(db)
    grace = timedelta(seconds=settings.security.cache_seconds + 2)
    active = [b for b in blocks if b.active(when)]
    ended = [b for b in blocks if not b.active(when)]
    active_set = AddressSet.of([b.network for b in active])
    ended_set = AddressSet.of([b.network for b in ended])
    watched_set = AddressSet.of([b.network for b in blocks])
    seen: dict[str, frozenset[str]] = {}
    found: list[Recurrence] = []
    for client in analysis.clients:
        if client.client not in watched_set:
            continue
        if client.reasons:
            seen[client.client] = evidence_kinds(client)
        if client.client in active_set:
            entry = next(b for b in active if client.client in AddressSet.of([b.network]))
            served = client.last_served
            if served is not None and served > entry.created_at + grace:
                found.append(
                    Recurrence(
                        "through", client.client,
                        f"blocked as {entry.network} since {entry.created_at:%H:%M:%S},"
                        f" answered at {served:%H:%M:%S}",
                        "opslib security firewall --apply",
                    )
                )  # fmt: skip
        elif client.client in ended_set and client.reasons:
            found.append(
                Recurrence(
                    "back", client.client, "; ".join(client.reasons[:2]),
                    client.action or f"opslib security block {client.client} --for 24h",
                )
            )  # fmt: skip
    _record(db, number, seen)
    pattern = _pattern(db, number)
    strong = pattern & _STRONG
    for client in analysis.suspects:
        if client.kind != "ip" or client.client in watched_set:
            continue
        shared = evidence_kinds(client) & (strong or pattern)
        if shared:
            found.append(
                Recurrence(
                    "pattern", client.client,
                    f"the incident's {', '.join(sorted(shared))}: {'; '.join(client.reasons[:2])}",
                    client.action or f"opslib security block {client.client} --for 24h",
                )
            )  # fmt: skip
    order = {"through": 0, "back": 1, "pattern": 2}
    return RecurrenceReport(
        incident=number,
        at=when,
        watched=tuple(str(b.network) for b in blocks),
        pattern=pattern,
        recurrences=tuple(sorted(found, key=lambda r: order[r.kind])),
        suspects=len(analysis.suspects),
        lines=analysis.parsed,
    )


def _record(db: Database, incident: int, seen: dict[str, frozenset[str]]) -> None:
    for client, kinds in seen.items():
        if kinds:
            db.execute(
                "INSERT INTO opslib.incident_findings (incident, client, kinds) VALUES (%s, %s, %s)"
                " ON CONFLICT (incident, client) DO UPDATE SET kinds = ARRAY(SELECT DISTINCT"
                " unnest(opslib.incident_findings.kinds || excluded.kinds) ORDER BY 1),"
                " seen_at = now()",
                (incident, client, sorted(kinds)),
            )


def _pattern(db: Database, incident: int) -> frozenset[str]:
    rows = db.fetch_all(
        "SELECT DISTINCT unnest(kinds) AS kind FROM opslib.incident_findings WHERE incident = %s",
        (incident,),
    )
    return frozenset(str(r["kind"]) for r in rows)


def _db_now(db: Database) -> datetime:
    row = db.fetch_one("SELECT now() AS now")
    assert row is not None
    now: datetime = row["now"]
    return now


def watch_for_recurrence(
    run: Callable[[], RecurrenceReport],
    *,
    every: timedelta,
    length: timedelta,
    once: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[RecurrenceReport]:
    """Call ``run`` now and then every ``every`` until ``length`` has passed (only once with
    ``once``), yielding each report; ``sleep`` and ``clock`` are injectable for tests."""
    end = clock() + length.total_seconds()
    while True:
        started = clock()
        yield run()
        if once:
            return
        wait = started + every.total_seconds() - clock()
        if clock() + max(wait, 0.0) >= end:
            return
        sleep(max(wait, 0.0))


def worst_recurrence(reports: Sequence[RecurrenceReport]) -> Severity:
    """The worst severity of the reports (OK for none)."""
    return max((r.severity for r in reports), key=lambda s: s.rank, default=Severity.OK)
