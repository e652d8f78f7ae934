"""Notices and alerts (runbook: ``send_maintenance_notice``, ``send_completion_notice``).

A :class:`Notice` (built by :func:`maintenance_notice`, :func:`completion_notice` or
:func:`alert_notice`) goes to the channels of ``settings.notify``: Slack-compatible webhooks,
a generic JSON POST and e-mail over SMTP. :func:`send_notice` never raises for a failed
channel: its :class:`Delivery` says why, and the others are sent all the same.
"""

from opslib.notify._notice import (
    COMPLETION_TEMPLATE,
    MAINTENANCE_TEMPLATE,
    AlertedCheck,
    Notice,
    NoticeTemplate,
    alert_notice,
    completion_notice,
    format_duration,
    format_time,
    format_window,
    maintenance_notice,
    parse_duration,
    parse_time,
    parse_until,
)
from opslib.notify._render import (
    WEBHOOK_SCHEMA,
    email_message,
    slack_escape,
    slack_payload,
    webhook_payload,
)
from opslib.notify._send import (
    Delivery,
    DeliveryReport,
    channel_target,
    channels_for,
    send_notice,
)

__all__ = [
    "COMPLETION_TEMPLATE",
    "MAINTENANCE_TEMPLATE",
    "WEBHOOK_SCHEMA",
    "AlertedCheck",
    "Delivery",
    "DeliveryReport",
    "Notice",
    "NoticeTemplate",
    "alert_notice",
    "channel_target",
    "channels_for",
    "completion_notice",
    "email_message",
    "format_duration",
    "format_time",
    "format_window",
    "maintenance_notice",
    "parse_duration",
    "parse_time",
    "parse_until",
    "send_notice",
    "slack_escape",
    "slack_payload",
    "webhook_payload",
]
