"""Procedure runs in ``opslib.procedure_runs``: the state of every step, and who holds the run.

A run holds a session advisory lock on a connection of its own for as long as its process
lives; the server releases it however the process ends. A row that says ``running`` while
nobody holds the lock belongs to a process that died (``kill -9``, a lost host).
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, LiteralString

from psycopg import sql

from opslib.adapters import Database, Row
from opslib.errors import UnsafeActionError

__all__ = ["ProcedureRun", "RunLock", "RunStore", "StepRecord"]

_LOCK = 0x70726F63  # "proc": one maintenance procedure at a time
_COLUMNS: LiteralString = (
    "id, kind, state, actor, host, pid, plan, steps, facts, current_step, message,"
    " started_at, updated_at, ended_at"
)
RunKind = Literal["scheduled", "emergency"]
StepState = Literal["pending", "running", "done", "skipped", "failed"]


@dataclass(frozen=True)
class StepRecord:
    """A step as the run recorded it."""

    name: str
    state: StepState = "pending"
    started_at: str | None = None
    ended_at: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class ProcedureRun:
    """One row of ``opslib.procedure_runs``; ``alive`` says whether its process holds the lock
    (None when not looked up)."""

    id: int
    kind: RunKind
    state: Literal["running", "failed", "completed", "abandoned"]
    actor: str
    host: str
    pid: int
    plan: Mapping[str, Any]
    steps: Mapping[str, StepRecord]
    facts: Mapping[str, Any]
    current_step: str | None
    message: str
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    alive: bool | None = None

    @property
    def killed(self) -> bool:
        """Marked running, but no process holds it: the process died mid-run."""
        return self.state == "running" and self.alive is False

    @property
    def unfinished(self) -> bool:
        """Failed, killed or still running."""
        return self.state in ("running", "failed")

    @property
    def step_names(self) -> list[str]:
        """The planned steps, in order."""
        return [str(s["name"]) for s in self.plan.get("steps", [])]

    def step(self, name: str) -> StepRecord:
        """The record of step ``name`` (pending when it never started)."""
        return self.steps.get(name, StepRecord(name))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "id": self.id,
            "kind": self.kind,
            "state": "killed" if self.killed else self.state,
            "actor": self.actor,
            "host": self.host,
            "pid": self.pid,
            "current_step": self.current_step,
            "message": self.message,
            "started_at": self.started_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "steps": [self.step(n).__dict__ for n in self.step_names],
            "facts": dict(self.facts),
        }


def _run(row: Row, alive: bool | None) -> ProcedureRun:
    steps = {
        name: StepRecord(name, **{k: v for k, v in rec.items() if k != "name"})
        for name, rec in (row["steps"] or {}).items()
    }
    return ProcedureRun(**{k: row[k] for k in row if k != "steps"}, steps=steps, alive=alive)


@dataclass
class RunLock:
    """The session lock of the running procedure, on a connection of its own."""

    db: Database
    held: bool = field(default=False)

    def acquire(self) -> bool:
        """Try once; True when this process now holds it."""
        row = self.db.fetch_one("SELECT pg_try_advisory_lock(%s) AS ok", (_LOCK,))
        self.held = bool(row and row["ok"])
        return self.held

    def release(self) -> None:
        """Release it (closing the connection would too)."""
        if self.held:
            self.db.execute("SELECT pg_advisory_unlock(%s)", (_LOCK,))
            self.held = False


class RunStore:
    """Reads and writes procedure runs."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def _alive(self) -> bool:
        """Whether some session holds the procedure lock (this one excluded only if it does
        not hold it itself)."""
        row = self._db.fetch_one(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = 0 AND objid::bigint = %s AND objsubid = 1"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))"
            " AS held",
            (_LOCK,),
        )
        return bool(row and row["held"])

    def get(self, run_id: int) -> ProcedureRun | None:
        """Run ``run_id``, with whether its process lives."""
        row = self._db.fetch_one(
            "SELECT " + _COLUMNS + " FROM opslib.procedure_runs WHERE id = %s", (run_id,)
        )
        return _run(row, self._alive()) if row else None

    def latest(self) -> ProcedureRun | None:
        """The newest run, with whether its process lives."""
        row = self._db.fetch_one(
            "SELECT " + _COLUMNS + " FROM opslib.procedure_runs ORDER BY id DESC LIMIT 1"
        )
        return _run(row, self._alive()) if row else None

    def unfinished(self) -> ProcedureRun | None:
        """The run that failed, was killed or still runs (at most one exists)."""
        row = self._db.fetch_one(
            "SELECT " + _COLUMNS + " FROM opslib.procedure_runs"
            " WHERE state IN ('running', 'failed') ORDER BY id DESC LIMIT 1"
        )
        return _run(row, self._alive()) if row else None

    def create(self, kind: RunKind, plan: Mapping[str, Any], actor: str) -> ProcedureRun:
        """A new run in state ``running``; refused while another is unfinished."""
        row = self._db.fetch_one(
            "INSERT INTO opslib.procedure_runs (kind, state, actor, host, pid, plan)"
            " VALUES (%s, 'running', %s, %s, %s, %s::jsonb)"
            " ON CONFLICT DO NOTHING RETURNING " + _COLUMNS,
            (kind, actor, socket.gethostname(), os.getpid(), json.dumps(plan)),
        )
        if row is None:
            raise UnsafeActionError("another maintenance procedure is unfinished")
        return _run(row, True)

    def take_over(self, run_id: int) -> ProcedureRun:
        """Mark run ``run_id`` running again, by this process (``--resume``)."""
        row = self._db.fetch_one(
            "UPDATE opslib.procedure_runs SET state = 'running', host = %s, pid = %s,"
            " message = '', updated_at = now(), ended_at = NULL WHERE id = %s"
            " RETURNING " + _COLUMNS,
            (socket.gethostname(), os.getpid(), run_id),
        )
        assert row is not None
        return _run(row, True)

    def step(
        self,
        run_id: int,
        name: str,
        state: StepState,
        detail: str,
        facts: Mapping[str, Any],
    ) -> None:
        """Record step ``name``'s new state, and the facts as they are now."""
        now = "to_jsonb(now())"
        started = sql.SQL(
            now if state == "running" else "steps #> ARRAY[%(name)s::text, 'started_at']"
        )
        ended = sql.SQL("'null'::jsonb" if state == "running" else now)
        self._db.execute(
            sql.SQL(
                "UPDATE opslib.procedure_runs SET steps = steps"
                " || jsonb_build_object(%(name)s::text, jsonb_build_object("
                "'state', %(state)s::text, 'started_at', {started},"
                " 'ended_at', {ended}, 'detail', %(detail)s::text)),"
                " facts = %(facts)s::jsonb, current_step = %(name)s, updated_at = now()"
                " WHERE id = %(id)s"
            ).format(started=started, ended=ended),
            {
                "name": name,
                "state": state,
                "detail": detail[:2000],
                "facts": json.dumps(dict(facts), default=str),
                "id": run_id,
            },
        )

    def save_facts(self, run_id: int, facts: Mapping[str, Any]) -> None:
        """Persist the facts now (a step about to do something a kill could interrupt)."""
        self._db.execute(
            "UPDATE opslib.procedure_runs SET facts = %s::jsonb, updated_at = now() WHERE id = %s",
            (json.dumps(dict(facts), default=str), run_id),
        )

    def finish(
        self, run_id: int, state: Literal["failed", "completed", "abandoned"], message: str
    ) -> None:
        """End the run (``failed`` stays unfinished: ``--resume`` continues it)."""
        self._db.execute(
            "UPDATE opslib.procedure_runs SET state = %s, message = %s, updated_at = now(),"
            " ended_at = CASE WHEN %s = 'failed' THEN NULL ELSE now() END WHERE id = %s",
            (state, message[:2000], state, run_id),
        )
