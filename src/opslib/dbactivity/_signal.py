"""Cancel a session's query or terminate the session: plan (with refusals), then apply."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

from opslib.adapters import Database
from opslib.dbactivity._activity import Session, read_activity
from opslib.errors import InputError, UnsafeActionError

__all__ = ["SignalAction", "SignalPlan", "SignalResult", "apply_signal", "plan_signal"]

SignalAction = Literal["cancel", "terminate"]
"""``cancel`` stops the running query (``pg_cancel_backend``); ``terminate`` ends the session
(``pg_terminate_backend``), rolling its transaction back."""


@dataclass(frozen=True)
class SignalPlan:
    """What :func:`apply_signal` would do to which session; ``note`` warns when it does little."""

    action: SignalAction
    session: Session
    blocks: int
    note: str = ""

    def describe(self) -> str:
        s = self.session
        what = "cancel the query of" if self.action == "cancel" else "terminate"
        who = f"{s.user or '?'}@{s.database or '?'} {s.application or s.backend_type}".strip()
        age = f", query {s.query_seconds:.0f} s" if s.query_seconds is not None else ""
        blocks = f", blocks {self.blocks}" if self.blocks else ""
        note = f" ({self.note})" if self.note else ""
        return f"{what} pid {s.pid} ({who}, {s.state or 'no state'}{age}{blocks}){note}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "session": self.session.as_dict(),
            "blocks": self.blocks,
            "note": self.note,
        }


@dataclass(frozen=True)
class SignalResult:
    """What happened: the server accepted the signal; ``gone`` whether the session has ended
    (terminate) or its query stopped (cancel) within the wait."""

    plan: SignalPlan
    signalled: bool
    gone: bool

    def describe(self) -> str:
        pid = self.plan.session.pid
        if not self.signalled:
            return f"pid {pid}: the server did not signal it (it ended meanwhile)"
        if self.plan.action == "terminate":
            return f"pid {pid} terminated" if self.gone else f"pid {pid} signalled, still ending"
        return f"pid {pid}: query cancelled" if self.gone else f"pid {pid}: cancel requested"


def plan_signal(db: Database, pid: int, action: SignalAction, *, force: bool = False) -> SignalPlan:
    """Look ``pid`` up and decide; refuses opslib's own session, a server process that is not a
    client's, and (unless ``force``) a superuser's session.

    Raises :class:`InputError` when no session has ``pid``, :class:`UnsafeActionError` when the
    action is refused.
    """
    activity = read_activity(db)
    session = activity.session(pid)
    if session is None:
        raise InputError(f"no session with PID {pid} on {db.target}")
    if pid == activity.own_pid:
        raise UnsafeActionError(f"PID {pid} is opslib's own session: not signalling it")
    if not session.client_backend:
        raise UnsafeActionError(
            f"PID {pid} is a {session.backend_type or 'server'} process, not a client session:"
            " not signalling it"
        )
    if session.superuser and not force:
        raise UnsafeActionError(
            f"PID {pid} is a superuser session ({session.user}): pass --force to {action} it"
        )
    note = ""
    if action == "cancel" and not session.active:
        note = f"it runs no query ({session.state}): cancel does nothing; terminate ends it"
    return SignalPlan(action, session, activity.blocked_count(pid), note)


def apply_signal(db: Database, plan: SignalPlan, *, wait: float = 2.0) -> SignalResult:
    """Send the signal, then wait up to ``wait`` seconds for it to take effect."""
    pid = plan.session.pid
    if plan.action == "cancel":
        row = db.fetch_one("SELECT pg_cancel_backend(%s) AS ok", (pid,))
    else:
        row = db.fetch_one("SELECT pg_terminate_backend(%s) AS ok", (pid,))
    signalled = bool(row and row["ok"])
    deadline = time.monotonic() + wait
    gone = False
    while signalled:
        gone = _took_effect(db, plan)
        if gone or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    return SignalResult(plan, signalled, gone)


def _took_effect(db: Database, plan: SignalPlan) -> bool:
    row = db.fetch_one(
        "SELECT state, query_start FROM pg_stat_activity WHERE pid = %s", (plan.session.pid,)
    )
    if row is None:
        return True
    if plan.action == "terminate":
        return False
    return bool(row["state"] != "active")
