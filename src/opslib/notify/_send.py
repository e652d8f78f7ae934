"""Sending a notice to every channel that carries its kind: concurrently, each attempt
within the timeout, transient failures retried within a bounded budget, one typed result per
channel."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import tenacity

from opslib.config import Channel, EmailChannel, NoticeKind, NotifySettings, SlackChannel
from opslib.errors import ConfigError
from opslib.notify._notice import Notice
from opslib.notify._render import email_message, slack_payload, webhook_payload
from opslib.notify._transports import SendFailure, post_json, send_mail, tls_context
from opslib.redact import redact

__all__ = ["Delivery", "DeliveryReport", "channel_target", "channels_for", "send_notice"]

_log = logging.getLogger(__name__)
_MAX_THREADS = 8


@dataclass(frozen=True)
class Delivery:
    """How a notice went to one channel: ``sent``, or ``failed`` with a one-line reason."""

    channel: str
    type: str
    target: str
    status: Literal["sent", "failed"]
    reason: str = ""
    attempts: int = 1
    unreachable: bool = False

    @property
    def sent(self) -> bool:
        """Whether the channel accepted the notice."""
        return self.status == "sent"


@dataclass(frozen=True)
class DeliveryReport:
    """The deliveries of one notice, in channel order."""

    kind: NoticeKind
    deliveries: tuple[Delivery, ...]

    @property
    def sent(self) -> tuple[Delivery, ...]:
        """The channels that accepted it."""
        return tuple(d for d in self.deliveries if d.sent)

    @property
    def failed(self) -> tuple[Delivery, ...]:
        """The channels that did not."""
        return tuple(d for d in self.deliveries if not d.sent)

    @property
    def exit_code(self) -> int:
        """0 all sent; 1 some failed; 2 all failed; 3 all failed and none could be reached."""
        if not self.failed:
            return 0
        if self.sent:
            return 1
        return 3 if all(d.unreachable for d in self.failed) else 2

    @property
    def outcome(self) -> Literal["ok", "failed"]:
        """The audit log's word: ``ok`` when every channel took it, else ``failed`` (the
        :meth:`summary` says which did)."""
        return "ok" if not self.failed else "failed"

    def summary(self) -> str:
        """One line: ``sent to ops-slack; failed: ci-hook (HTTP 500 ...)``."""
        parts = []
        if self.sent:
            parts.append("sent to " + ", ".join(d.channel for d in self.sent))
        if self.failed:
            parts.append("failed: " + ", ".join(f"{d.channel} ({d.reason})" for d in self.failed))
        return "; ".join(parts)


def channels_for(kind: NoticeKind, settings: NotifySettings) -> list[Channel]:
    """The configured channels that carry notices of ``kind``."""
    return [channel for channel in settings.channels if kind in channel.kinds]


def channel_target(channel: Channel) -> str:
    """Where a channel sends, without its secret: ``https://hooks.slack.com`` (no path, which
    holds the token) or ``smtp.example.com:587 -> ops@example.com``."""
    if isinstance(channel, EmailChannel):
        return f"{channel.host}:{channel.smtp_port} -> {', '.join(channel.to)}"
    parts = urlsplit(channel.url.get_secret_value())
    host = parts.hostname or ""
    shown = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{shown}" + (f":{parts.port}" if parts.port else "")


def _secrets(channel: Channel) -> list[str]:
    if isinstance(channel, EmailChannel):
        secret = channel.password.get_secret_value() if channel.password else ""
        return [secret] if secret else []
    url = channel.url.get_secret_value()
    parts = urlsplit(url)
    found = [url, parts.path, parts.query, parts.password or ""]
    found += parts.query.split("&")
    return [s for s in found if len(s) >= 4]


def _mask(text: str, channel: Channel) -> str:
    """``text`` with the channel's URL, token and password masked (then :func:`redact`)."""
    for secret in sorted(_secrets(channel), key=len, reverse=True):
        text = text.replace(secret, "***")
    return redact(text)


def send_notice(
    notice: Notice,
    settings: NotifySettings,
    *,
    channels: Sequence[Channel] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryReport:
    """Send ``notice`` to ``channels`` (default: those carrying its kind), all at once.

    Never raises for a channel that fails: its :class:`Delivery` says why. Raises
    :class:`~opslib.errors.ConfigError` when no channel carries this kind of notice.
    """
    chosen = list(channels) if channels is not None else channels_for(notice.kind, settings)
    if not chosen:
        raise ConfigError(
            f"no notification channel carries {notice.kind} notices"
            " (configure [[notify.channels]]; see the README's Notices)"
        )
    with ThreadPoolExecutor(min(len(chosen), _MAX_THREADS), "opslib-notify") as pool:
        futures = [pool.submit(_deliver, notice, c, settings, sleep) for c in chosen]
        deliveries = tuple(future.result() for future in futures)
    return DeliveryReport(kind=notice.kind, deliveries=deliveries)


def _deliver(
    notice: Notice, channel: Channel, settings: NotifySettings, sleep: Callable[[float], None]
) -> Delivery:
    attempts = [0]

    def once() -> None:
        attempts[0] += 1
        _send_once(notice, channel, settings.timeout)

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(settings.attempts)
        | tenacity.stop_after_delay(settings.timeout * settings.attempts),
        wait=tenacity.wait_exponential(multiplier=0.25, max=4),
        retry=tenacity.retry_if_exception(lambda e: isinstance(e, SendFailure) and e.transient),
        sleep=sleep,
        reraise=True,
    )

    def result(
        status: Literal["sent", "failed"], reason: str = "", unreachable: bool = False
    ) -> Delivery:
        return Delivery(
            channel=channel.label,
            type=channel.type,
            target=channel_target(channel),
            status=status,
            reason=_mask(" ".join(reason.split()), channel),
            attempts=attempts[0],
            unreachable=unreachable,
        )

    try:
        retrying(once)
    except SendFailure as exc:
        tries = f" (after {attempts[0]} attempts)" if attempts[0] > 1 else ""
        return result("failed", exc.reason + tries, exc.unreachable)
    except Exception as exc:  # a bug must not cost the other channels their notice
        _log.debug("notice to %s failed", channel.label, exc_info=True)
        return result("failed", f"internal error: {type(exc).__name__}: {exc}")
    return result("sent")


def _send_once(notice: Notice, channel: Channel, timeout: float) -> None:
    tls = tls_context(channel.ca_file)
    if isinstance(channel, EmailChannel):
        send_mail(
            email_message(notice, channel.sender, channel.to),
            host=channel.host,
            port=channel.smtp_port,
            security=channel.security,
            username=channel.username,
            password=channel.password.get_secret_value() if channel.password else None,
            timeout=timeout,
            tls=tls,
        )
        return
    body = slack_payload(notice) if isinstance(channel, SlackChannel) else webhook_payload(notice)
    post_json(channel.url.get_secret_value(), body, timeout=timeout, tls=tls)
