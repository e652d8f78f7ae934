"""A notice as each channel wants it: Slack's ``text`` and ``blocks``, the generic JSON
schema, an e-mail."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from opslib.notify._notice import AlertedCheck, Notice

__all__ = ["WEBHOOK_SCHEMA", "email_message", "slack_escape", "slack_payload", "webhook_payload"]

WEBHOOK_SCHEMA = "opslib.notice/1"
"""The ``schema`` of the generic webhook's JSON body (docs: README, "Notices")."""

# Slack's limits: header text 150, section text 3000, a field 2000, ten fields, 50 blocks.
_HEADER, _SECTION, _FIELD, _FIELDS, _ITEMS = 150, 3000, 2000, 10, 40


def slack_escape(text: str) -> str:
    """``text`` safe for Slack mrkdwn: ``&``, ``<`` and ``>`` escaped, so no ``<!channel>``
    ping or link can be injected."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _slack_item(item: AlertedCheck) -> str:
    sop = f" `{slack_escape(item.sop)}`" if item.sop else ""
    return (
        f"• *{slack_escape(item.severity)}*{sop} {slack_escape(item.check)}:"
        f" {slack_escape(item.message)}"
    )


def slack_payload(notice: Notice) -> dict[str, Any]:
    """Slack's incoming-webhook body: ``text`` (the fallback every client shows) and
    ``blocks`` (header, text, the facts as fields, the alerted checks)."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(notice.subject, _HEADER)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut(slack_escape(notice.text),
                                                                   _SECTION)}},
    ]  # fmt: skip
    fields = [
        {"type": "mrkdwn", "text": _cut(f"*{slack_escape(name)}*\n{slack_escape(value)}", _FIELD)}
        for name, value in notice.fields
    ]
    for start in range(0, len(fields), _FIELDS):
        blocks.append({"type": "section", "fields": fields[start : start + _FIELDS]})
    lines = [_slack_item(item) for item in notice.items[:_ITEMS]]
    if len(notice.items) > _ITEMS:
        lines.append(f"… and {len(notice.items) - _ITEMS} more")
    chunk: list[str] = []
    for line in lines:
        if chunk and sum(len(c) + 1 for c in chunk) + len(line) > _SECTION:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
            chunk = []
        chunk.append(_cut(line, _SECTION))
    if chunk:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
    return {"text": slack_escape(f"{notice.subject}\n{notice.text}"), "blocks": blocks}


def webhook_payload(notice: Notice) -> dict[str, Any]:
    """The generic JSON body: ``schema``, ``kind`` (maintenance, completion, alert),
    ``subject``, ``text``, ``fields`` (an object, in order) and ``items`` (an alert's checks:
    sop, check, severity, message; empty otherwise)."""
    return {
        "schema": WEBHOOK_SCHEMA,
        "kind": notice.kind,
        "subject": notice.subject,
        "text": notice.text,
        "fields": dict(notice.fields),
        "items": [
            {"sop": i.sop, "check": i.check, "severity": i.severity, "message": i.message}
            for i in notice.items
        ],
    }


def email_message(
    notice: Notice, sender: str, recipients: list[str], now: datetime | None = None
) -> EmailMessage:
    """The notice as a plain-text e-mail from ``sender`` to ``recipients``."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = " ".join(notice.subject.split())
    message["Date"] = format_datetime(now or datetime.now(UTC))
    domain = sender.rpartition("@")[2].strip(" >") or None
    message["Message-ID"] = make_msgid("opslib", domain=domain)
    message["X-Opslib-Kind"] = notice.kind
    message.set_content(notice.plain())
    return message
