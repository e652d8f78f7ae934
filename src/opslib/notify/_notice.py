"""Notices as data, and the templates that write them: what, when, how long, whom to contact."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from string import Template
from typing import Literal

from opslib.config import NoticeKind
from opslib.errors import InputError

__all__ = [
    "COMPLETION_TEMPLATE",
    "MAINTENANCE_TEMPLATE",
    "AlertedCheck",
    "Notice",
    "NoticeTemplate",
    "alert_notice",
    "completion_notice",
    "format_duration",
    "format_time",
    "format_window",
    "maintenance_notice",
    "parse_duration",
    "parse_time",
    "parse_until",
]


@dataclass(frozen=True)
class AlertedCheck:
    """One check an alert lists: its SOP id, title or node id, severity and one-line message."""

    sop: str
    check: str
    severity: str
    message: str


@dataclass(frozen=True)
class Notice:
    """A message ready to render for any channel: ``fields`` are its facts, in order."""

    kind: NoticeKind
    subject: str
    text: str
    fields: tuple[tuple[str, str], ...] = ()
    items: tuple[AlertedCheck, ...] = ()

    def plain(self) -> str:
        """The notice as plain text (the e-mail body, the ``--dry-run`` preview)."""
        width = max((len(name) for name, _ in self.fields), default=0)
        lines = [self.text, ""]
        lines += [f"{name + ':':<{width + 1}} {value}" for name, value in self.fields]
        if self.items:
            lines += ["", *(f"- {_item_line(item)}" for item in self.items)]
        return "\n".join(lines).rstrip() + "\n"


def _item_line(item: AlertedCheck) -> str:
    sop = f" [{item.sop}]" if item.sop else ""
    return f"{item.severity}{sop} {item.check}: {item.message}"


@dataclass(frozen=True)
class NoticeTemplate:
    """A subject and a text as :class:`string.Template`; ``$names`` are the notice's facts."""

    subject: Template
    text: Template


MAINTENANCE_TEMPLATE = NoticeTemplate(
    subject=Template("[$platform] Planned maintenance $window ($duration): $reason"),
    text=Template(
        "$platform will be under maintenance from $start until about $until ($duration)."
        " Reason: $reason. Affected: $scope. Scrapers pause during the window: prices are not"
        " refreshed until it ends. Questions: $contact."
    ),
)
"""The maintenance notice (runbook: ``send_maintenance_notice``)."""

COMPLETION_TEMPLATE = NoticeTemplate(
    subject=Template("[$platform] Maintenance $outcome_word"),
    text=Template(
        "The maintenance of $platform $outcome_phrase at $ended (took $duration)."
        " What was done: $summary. Questions: $contact."
    ),
)
"""The completion notice (runbook: ``send_completion_notice``)."""

_OUTCOMES = {
    "ok": ("completed", "completed", "is over: scrapers are running again"),
    "failed": ("FAILED", "did not complete", "did not complete: the platform may be degraded"),
}


def _one_line(value: str, what: str) -> str:
    flat = " ".join(value.split())
    if not flat:
        raise InputError(f"{what}: empty")
    return flat


def maintenance_notice(
    *,
    start: datetime,
    until: datetime,
    reason: str,
    contact: str,
    platform: str,
    scope: Sequence[str] = (),
    announced_by: str | None = None,
    zone: tzinfo = UTC,
    template: NoticeTemplate = MAINTENANCE_TEMPLATE,
) -> Notice:
    """The notice of a maintenance window: what (reason, scope), when, how long, whom to ask.

    Raises :class:`~opslib.errors.InputError` when the window ends before it starts or a fact
    is empty.
    """
    if start.tzinfo is None or until.tzinfo is None:
        raise InputError("maintenance window: times must carry a time zone")
    if until <= start:
        raise InputError(
            f"maintenance window: the expected end ({format_time(until, zone)}) is not after"
            f" the start ({format_time(start, zone)})"
        )
    facts = {
        "platform": _one_line(platform, "platform"),
        "start": format_time(start, zone),
        "until": format_time(until, zone),
        "window": format_window(start, until, zone),
        "duration": format_duration(until - start),
        "reason": _one_line(reason, "reason"),
        "scope": ", ".join(_one_line(s, "scope") for s in scope) or "the whole platform",
        "contact": _one_line(contact, "contact"),
    }
    fields = [
        ("What", facts["reason"]),
        ("Scope", facts["scope"]),
        ("Starts", facts["start"]),
        ("Expected end", facts["until"]),
        ("Duration", facts["duration"]),
        ("Contact", facts["contact"]),
    ]
    if announced_by:
        fields.append(("Announced by", _one_line(announced_by, "announced by")))
    return Notice(
        kind="maintenance",
        subject=template.subject.substitute(facts),
        text=template.text.substitute(facts),
        fields=tuple(fields),
    )


def completion_notice(
    *,
    outcome: Literal["ok", "failed"],
    summary: str,
    contact: str,
    platform: str,
    ended: datetime,
    started: datetime | None = None,
    announced_by: str | None = None,
    zone: tzinfo = UTC,
    template: NoticeTemplate = COMPLETION_TEMPLATE,
) -> Notice:
    """The notice that maintenance ended: what was done, how long it took, the outcome, whom
    to ask. Without ``started`` the duration is "not recorded"."""
    if outcome not in _OUTCOMES:
        raise InputError(f"outcome: {outcome!r} is not ok or failed")
    if ended.tzinfo is None or (started is not None and started.tzinfo is None):
        raise InputError("completion: times must carry a time zone")
    if started is not None and started > ended:
        raise InputError(
            f"completion: the start ({format_time(started, zone)}) is after the end"
            f" ({format_time(ended, zone)})"
        )
    word, phrase, result = _OUTCOMES[outcome]
    duration = format_duration(ended - started) if started is not None else "not recorded"
    facts = {
        "platform": _one_line(platform, "platform"),
        "outcome_word": word,
        "outcome_phrase": phrase,
        "ended": format_time(ended, zone),
        "duration": duration,
        "summary": _one_line(summary, "summary").rstrip("."),
        "contact": _one_line(contact, "contact"),
    }
    fields = [
        ("Outcome", f"{outcome}: {result}"),
        ("What was done", facts["summary"]),
    ]
    if started is not None:
        fields.append(("Started", format_time(started, zone)))
    fields += [("Ended", facts["ended"]), ("Duration", duration), ("Contact", facts["contact"])]
    if announced_by:
        fields.append(("Announced by", _one_line(announced_by, "announced by")))
    return Notice(
        kind="completion",
        subject=template.subject.substitute(facts),
        text=template.text.substitute(facts),
        fields=tuple(fields),
    )


def alert_notice(
    checks: Sequence[AlertedCheck],
    *,
    platform: str,
    finished: datetime,
    contact: str | None = None,
    report: str | None = None,
    zone: tzinfo = UTC,
) -> Notice:
    """One alert listing every check in ``checks`` (those CRITICAL or UNKNOWN, and WARNING
    when asked), the platform they looked at and when."""
    if not checks:
        raise InputError("alert: no check to report")
    counts: dict[str, int] = {}
    for check in checks:
        counts[check.severity] = counts.get(check.severity, 0) + 1
    counted = ", ".join(f"{n} {severity}" for severity, n in counts.items())
    suites = sorted({check.sop.split(".", 1)[0] for check in checks if check.sop})
    where = f"{'/'.join(suites)} checks" if suites else "checks"
    when = format_time(finished, zone)
    fields = [
        ("Platform", platform),
        ("Checks", counted),
        ("Run ended", when),
    ]
    if report:
        fields.append(("Report", report))
    if contact:
        fields.append(("Contact", contact))
    return Notice(
        kind="alert",
        subject=f"[opslib] {counted}: {where} on {platform}",
        text=f"The {where} run that ended {when} found {counted}.",
        fields=tuple(fields),
        items=tuple(checks),
    )


def format_time(moment: datetime, zone: tzinfo = UTC) -> str:
    """``2025-06-01 02:00 UTC``, or ``2025-06-01 04:00 CEST (UTC+02:00)`` in another zone."""
    local = moment.astimezone(zone)
    offset = local.utcoffset() or timedelta(0)
    name = local.tzname() or ""
    if offset == timedelta(0) and name in ("UTC", "GMT", "Z", ""):
        return f"{local:%Y-%m-%d %H:%M} UTC"
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    utc = f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    if name and name[0] not in "+-":
        return f"{local:%Y-%m-%d %H:%M} {name} ({utc})"
    return f"{local:%Y-%m-%d %H:%M} {utc}"


def format_window(start: datetime, until: datetime, zone: tzinfo = UTC) -> str:
    """``2025-06-01 02:00-04:30 CEST`` within a day, else both times in full."""
    first, last = start.astimezone(zone), until.astimezone(zone)
    if first.date() != last.date() or first.utcoffset() != last.utcoffset():
        return f"{format_time(start, zone)} to {format_time(until, zone)}"
    shown = format_time(start, zone)
    day, clock, rest = shown.split(" ", 2)
    return f"{day} {clock}-{last:%H:%M} {rest}"


def format_duration(span: timedelta) -> str:
    """``45 min``, ``2 h 30 min``, ``1 d 3 h``; under a minute in seconds."""
    seconds = int(span.total_seconds())
    if seconds < 60:
        return f"{max(seconds, 0)} s"
    days, rest = divmod((seconds + 30) // 60, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else ""]
    parts.append(f"{minutes} min" if minutes and not days else "")
    return " ".join(p for p in parts if p)


_DURATION = re.compile(r"\+?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?:in)?)?(?:(\d+)s)?")
_CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


def parse_duration(text: str) -> timedelta | None:
    """``2h``, ``90m``, ``1h30m``, ``1d`` (a leading ``+`` allowed); None if not a duration."""
    found = _DURATION.fullmatch(text.strip().lower().replace(" ", ""))
    if found is None or not any(found.groups()):
        return None
    days, hours, minutes, seconds = (int(g) if g else 0 for g in found.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def parse_time(
    text: str, zone: tzinfo, now: datetime, *, after: datetime | None = None
) -> datetime:
    """``now``, ``+30m`` (from now), ``HH:MM`` (its next occurrence from ``after``, default
    now) or ISO 8601; a time without a zone is in ``zone``. InputError when it is none."""
    value = text.strip()
    if value.lower() == "now":
        return now
    if value.startswith("+"):
        span = parse_duration(value)
        if span is not None:
            return now + span
    clock = _CLOCK.fullmatch(value)
    if clock is not None:
        local = (after or now).astimezone(zone)
        moment = local.replace(hour=int(clock[1]), minute=int(clock[2]), second=0, microsecond=0)
        return moment if moment >= local else moment + timedelta(days=1)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"{text!r} is not a time (now, +30m, HH:MM or ISO 8601 like 2025-06-01T02:00)"
        ) from None
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def parse_until(text: str, start: datetime, zone: tzinfo, now: datetime) -> datetime:
    """The expected end: a duration after ``start`` (``2h``, ``90m``) or a time as
    :func:`parse_time` reads it (``HH:MM``: the next one after ``start``)."""
    span = parse_duration(text)
    return start + span if span is not None else parse_time(text, zone, now, after=start)
