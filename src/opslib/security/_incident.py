"""Security incidents in ``opslib.incidents`` and their report: the timeline from the audit
log, the sources blocked, the keys rotated or revoked, the credential rotations and the open
follow-ups of the incident's time span, as Markdown or HTML."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from opslib.adapters import Database
from opslib.audit import current_actor
from opslib.errors import InputError

__all__ = ["IncidentReport", "generate_incident_report", "open_incident"]

_ACTIONS = ("security.%", "keys.%", "credentials.%", "incident.%")
_LEAD = timedelta(minutes=1)


def open_incident(db: Database, title: str, *, actor: str | None = None) -> tuple[int, bool]:
    """The open incident's id, or a new one titled ``title``; and whether it was opened now."""
    text = " ".join(title.split())
    if not text:
        raise InputError("--title: say what happened")
    with db.transaction():
        db.execute("LOCK TABLE opslib.incidents IN SHARE ROW EXCLUSIVE MODE")
        row = db.fetch_one("SELECT id FROM opslib.incidents WHERE closed_at IS NULL")
        if row is not None:
            return int(row["id"]), False
        row = db.fetch_one(
            "INSERT INTO opslib.incidents (title, opened_by) VALUES (%s, %s) RETURNING id",
            (text[:200], actor or current_actor()),
        )
    assert row is not None
    return int(row["id"]), True


@dataclass(frozen=True)
class IncidentReport:
    """What one incident holds (no secret: the audit log masks them, keys show prefixes)."""

    id: int
    title: str
    opened_by: str
    opened_at: datetime
    closed_at: datetime | None
    timeline: tuple[tuple[str, str, str, str, str], ...]
    blocked: tuple[tuple[str, str, str], ...]
    keys: tuple[tuple[str, str, str], ...]
    followups: tuple[str, ...]

    def markdown(self) -> str:
        """The report as Markdown."""
        state = f"closed {self.closed_at:%Y-%m-%d %H:%M %Z}" if self.closed_at else "open"
        out = [f"# Incident {self.id}: {self.title}", "",
               f"Opened {self.opened_at:%Y-%m-%d %H:%M %Z} by {self.opened_by}; {state}.",
               "", "## Timeline", "", "| when | who | action | outcome | detail |",
               "|---|---|---|---|---|"]  # fmt: skip
        out += [f"| {' | '.join(_cell(c) for c in row)} |" for row in self.timeline]
        out += ["", "## Blocked sources", "", "| network | reason | until |", "|---|---|---|"]
        out += [f"| {' | '.join(_cell(c) for c in row)} |" for row in self.blocked]
        out += ["", "## Keys rotated or revoked", "", "| client | prefix | what |", "|---|---|---|"]
        out += [f"| {' | '.join(_cell(c) for c in row)} |" for row in self.keys]
        out += ["", "## Open follow-ups", ""]
        out += [f"- {f}" for f in self.followups] or ["- none"]
        return "\n".join(out) + "\n"

    def html(self) -> str:
        """The report as a standalone HTML page."""

        def table(head: tuple[str, ...], rows: tuple[tuple[str, ...], ...]) -> str:
            th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
            trs = "".join(
                "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows
            )
            return f"<table><tr>{th}</tr>{trs}</table>"

        title = html.escape(f"Incident {self.id}: {self.title}")
        items = "".join(f"<li>{html.escape(f)}</li>" for f in self.followups) or "<li>none</li>"
        return (
            f"<!doctype html><html><head><meta charset=utf-8><title>{title}</title></head><body>"
            f"<h1>{title}</h1><p>Opened {self.opened_at:%Y-%m-%d %H:%M %Z} by"
            f" {html.escape(self.opened_by)}</p><h2>Timeline</h2>"
            + table(("when", "who", "action", "outcome", "detail"), self.timeline)
            + "<h2>Blocked sources</h2>"
            + table(("network", "reason", "until"), self.blocked)
            + "<h2>Keys rotated or revoked</h2>"
            + table(("client", "prefix", "what"), self.keys)
            + f"<h2>Open follow-ups</h2><ul>{items}</ul></body></html>\n"
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "id": self.id, "title": self.title, "opened_by": self.opened_by,
            "opened_at": self.opened_at.isoformat(),
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "timeline": [dict(zip(("at", "actor", "action", "outcome", "detail"), r, strict=True))
                         for r in self.timeline],
            "blocked": [dict(zip(("network", "reason", "until"), r, strict=True))
                        for r in self.blocked],
            "keys": [dict(zip(("name", "prefix", "what"), r, strict=True)) for r in self.keys],
            "followups": list(self.followups),
        }  # fmt: skip


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def generate_incident_report(db: Database, incident: int) -> IncidentReport:
    """The report of incident ``incident`` (InputError when there is none)."""
    row = db.fetch_one("SELECT * FROM opslib.incidents WHERE id = %s", (incident,))
    if row is None:
        raise InputError(f"no incident {incident}")
    # from a minute before it was opened: the action that opened it comes just before
    span = {"start": row["opened_at"] - _LEAD, "end": row["closed_at"]}
    audit = db.fetch_all(
        "SELECT at, actor, action, outcome, detail FROM opslib.audit_log WHERE at >= %(start)s"
        " AND (%(end)s::timestamptz IS NULL OR at <= %(end)s) AND NOT dry_run"
        " AND action LIKE ANY(%(actions)s) ORDER BY at, id",
        {**span, "actions": list(_ACTIONS)},
    )
    blocks = db.fetch_all(
        "SELECT network::text AS network, reason, expires_at FROM opslib.blocklist"
        " WHERE changed_at >= %(start)s AND (%(end)s::timestamptz IS NULL OR changed_at <= %(end)s)"
        " ORDER BY id",
        span,
    )
    keys = db.fetch_all(
        "SELECT name, prefix, revoked_at, expires_at, reason FROM opslib.api_keys"
        " WHERE (revoked_at >= %(start)s OR (expires_at IS NOT NULL AND reason LIKE 'rotated%%'"
        " AND created_at < %(start)s)) ORDER BY id",
        span,
    )
    followups = list(row["followups"])
    if any(b["expires_at"] is not None for b in blocks):
        followups.append("blocks expire: decide whether to extend them (opslib security list)")
    return IncidentReport(
        id=int(row["id"]),
        title=row["title"],
        opened_by=row["opened_by"],
        opened_at=row["opened_at"],
        closed_at=row["closed_at"],
        timeline=tuple(
            (
                a["at"].isoformat(timespec="seconds"),
                a["actor"],
                a["action"],
                a["outcome"],
                a["detail"],
            )
            for a in audit
        ),
        blocked=tuple(
            (
                b["network"],
                b["reason"],
                b["expires_at"].isoformat(timespec="seconds") if b["expires_at"] else "unblocked",
            )
            for b in blocks
        ),
        keys=tuple(
            (k["name"], k["prefix"], "revoked" if k["revoked_at"] else (k["reason"] or "rotated"))
            for k in keys
        ),
        followups=tuple(followups),
    )
