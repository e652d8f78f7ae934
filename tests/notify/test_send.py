"""Sending to real local receivers: webhooks (recording, 500, silent) and SMTP (STARTTLS,
implicit TLS, AUTH LOGIN and PLAIN, a wrong password)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from opslib.config import NotifySettings
from opslib.errors import ConfigError
from opslib.notify import Notice, maintenance_notice, send_notice
from tests.notify.receivers import (
    PASSWORD,
    TOKEN,
    USER,
    Hooks,
    MailServer,
    TlsFiles,
    hooks,
    mail_server,
    silent_port,
)
from tests.support import free_port

START = datetime(2025, 6, 1, 1, 0, tzinfo=UTC)


def notice() -> Notice:
    return maintenance_notice(
        start=START,
        until=datetime(2025, 6, 1, 3, 30, tzinfo=UTC),
        reason="PostgreSQL 16 upgrade",
        scope=["scraper", "alpha-shop.test"],
        contact="ops@example.com, +49 30 1234",
        platform="pricewatch",
    )


def settings(*channels: dict[str, Any], **extra: Any) -> NotifySettings:
    return NotifySettings.model_validate({"channels": list(channels), "timeout": 2, **extra})


def email(port: int, tls: TlsFiles, **extra: Any) -> dict[str, Any]:
    return {
        "type": "email",
        "name": "ops-mail",
        "host": "127.0.0.1",
        "port": port,
        "username": USER,
        "password": PASSWORD,
        "from": "opslib@example.com",
        "to": ["oncall@example.com", "shops@example.com"],
        "ca_file": str(tls.ca_file),
        **extra,
    }


def no_sleep(_: float) -> None:
    pass


def test_slack_and_generic_webhooks_receive_the_notice(webhook: Hooks) -> None:
    report = send_notice(
        notice(),
        settings(
            {"type": "slack", "name": "ops-slack", "url": webhook.recording_url},
            {"type": "webhook", "url": webhook.url(f"/hook/{TOKEN}?key=abcdefgh12345")},
        ),
    )
    assert [(d.channel, d.status, d.attempts) for d in report.deliveries] == [
        ("ops-slack", "sent", 1),
        ("webhook:127.0.0.1", "sent", 1),
    ]
    assert report.exit_code == 0
    assert report.outcome == "ok"
    slack, generic = sorted(webhook.received, key=lambda r: "blocks" in r.body, reverse=True)
    assert slack.content_type == "application/json"
    assert slack.body["text"].startswith(
        "[pricewatch] Planned maintenance 2025-06-01 01:00-03:30 UTC (2 h 30 min):"
        " PostgreSQL 16 upgrade\npricewatch will be under maintenance from 2025-06-01 01:00 UTC"
    )
    fields = [f["text"] for block in slack.body["blocks"] for f in block.get("fields", [])]
    assert "*Contact*\nops@example.com, +49 30 1234" in fields
    assert "*Duration*\n2 h 30 min" in fields
    assert generic.body["schema"] == "opslib.notice/1"
    assert generic.body["kind"] == "maintenance"
    assert generic.body["fields"]["What"] == "PostgreSQL 16 upgrade"
    assert generic.body["fields"]["Scope"] == "scraper, alpha-shop.test"
    assert generic.body["fields"]["Starts"] == "2025-06-01 01:00 UTC"
    assert generic.body["fields"]["Expected end"] == "2025-06-01 03:30 UTC"
    # Shown by name or host, never by the URL (its path is the token).
    assert all(TOKEN not in d.target and "abcdefgh" not in d.target for d in report.deliveries)
    assert report.deliveries[1].target == f"http://127.0.0.1:{webhook.port}"


def test_a_failing_webhook_is_retried_then_reported_and_the_others_still_go(
    webhook: Hooks,
) -> None:
    naps: list[float] = []
    report = send_notice(
        notice(),
        settings(
            {"type": "webhook", "name": "broken", "url": webhook.url("/fail")},
            {"type": "webhook", "name": "flaky", "url": webhook.url("/flaky")},
            {"type": "slack", "name": "good", "url": webhook.recording_url},
            attempts=3,
        ),
        sleep=naps.append,
    )
    by_name = {d.channel: d for d in report.deliveries}
    assert by_name["broken"].status == "failed"
    assert by_name["broken"].reason == (
        "HTTP 500 Internal Server Error: receiver down (after 3 attempts)"
    )
    assert by_name["broken"].attempts == 3
    assert not by_name["broken"].unreachable
    assert webhook.hits["/fail"] == 3
    assert (by_name["flaky"].status, by_name["flaky"].attempts) == ("sent", 2)
    assert by_name["good"].sent
    assert len(naps) == 3  # two waits for "broken", one for "flaky"; no real sleeping
    assert report.exit_code == 1
    assert report.outcome == "failed"
    assert report.summary() == (
        "sent to flaky, good; failed: broken (HTTP 500 Internal Server Error: receiver down"
        " (after 3 attempts))"
    )


def test_a_webhook_that_never_answers_costs_the_timeout_once() -> None:
    with silent_port() as port:
        began = time.monotonic()
        report = send_notice(
            notice(),
            settings(
                {"type": "webhook", "name": "silent", "url": f"http://127.0.0.1:{port}/x"},
                timeout=0.5,
                attempts=3,
            ),
            sleep=no_sleep,
        )
        took = time.monotonic() - began
    (delivery,) = report.deliveries
    # Not retried: the request may have arrived; a second notice would be a duplicate.
    assert (delivery.status, delivery.reason, delivery.attempts) == (
        "failed",
        "no answer within 0.5 s",
        1,
    )
    assert delivery.unreachable
    assert report.exit_code == 3
    assert took < 2


def test_a_refused_connection_is_retried_and_unreachable() -> None:
    port = free_port()
    report = send_notice(
        notice(),
        settings({"type": "slack", "url": f"http://127.0.0.1:{port}/services/T0/B0/XYZ12345"}),
        sleep=no_sleep,
    )
    (delivery,) = report.deliveries
    assert delivery.status == "failed"
    assert delivery.reason == "connection refused (after 3 attempts)"
    assert delivery.unreachable
    assert report.exit_code == 3
    assert report.outcome == "failed"


def test_mixed_failures_of_every_channel_exit_2(webhook: Hooks) -> None:
    port = free_port()
    report = send_notice(
        notice(),
        settings(
            {"type": "webhook", "name": "down", "url": f"http://127.0.0.1:{port}/"},
            {"type": "webhook", "name": "broken", "url": webhook.url("/fail")},
            attempts=1,
        ),
    )
    assert [d.status for d in report.deliveries] == ["failed", "failed"]
    assert report.exit_code == 2  # one answered with an error: not only unreachable


def test_email_over_starttls_with_auth_login(tls: TlsFiles) -> None:
    with mail_server(tls, mechanisms=("LOGIN",)) as mail:
        report = send_notice(notice(), settings(email(mail.port, tls)))
    (delivery,) = report.deliveries
    assert delivery.sent, delivery
    assert delivery.target == f"127.0.0.1:{mail.port} -> oncall@example.com, shops@example.com"
    assert mail.logins == [("LOGIN", USER, True)]
    assert mail.envelopes == [("opslib@example.com", ["oncall@example.com", "shops@example.com"])]
    (message,) = mail.messages
    assert message["Subject"] == (
        "[pricewatch] Planned maintenance 2025-06-01 01:00-03:30 UTC (2 h 30 min):"
        " PostgreSQL 16 upgrade"
    )
    assert message["X-Opslib-Kind"] == "maintenance"
    body = message.get_content()
    assert "Reason: PostgreSQL 16 upgrade" in body
    assert "Starts:       2025-06-01 01:00 UTC" in body
    assert "Expected end: 2025-06-01 03:30 UTC" in body
    assert "Duration:     2 h 30 min" in body
    assert "Contact:      ops@example.com, +49 30 1234" in body


def test_email_with_auth_plain(smtp: MailServer, tls: TlsFiles) -> None:
    with mail_server(tls, mechanisms=("PLAIN",)) as mail:
        report = send_notice(notice(), settings(email(mail.port, tls)))
    assert report.exit_code == 0
    assert mail.logins == [("PLAIN", USER, True)]
    assert len(mail.messages) == 1


# aiosmtpd warns because it counts only STARTTLS as TLS; this session is TLS from the start.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_email_over_implicit_tls(tls: TlsFiles) -> None:
    with mail_server(tls, implicit_tls=True) as mail:
        report = send_notice(notice(), settings(email(mail.port, tls, security="tls")))
    assert report.exit_code == 0, report.deliveries
    assert len(mail.messages) == 1


def test_a_wrong_password_is_refused_once_and_never_shown(tls: TlsFiles) -> None:
    with mail_server(tls, password="the-right-one-123") as mail:
        report = send_notice(notice(), settings(email(mail.port, tls)), sleep=no_sleep)
    (delivery,) = report.deliveries
    assert delivery.status == "failed"
    assert delivery.reason.startswith("authentication refused: 535 ")
    assert delivery.attempts == 1  # a wrong password does not get better by trying again
    assert PASSWORD not in repr(report)
    assert mail.messages == []
    # smtplib tries each mechanism the server offers (LOGIN, PLAIN) before giving up.
    assert mail.logins
    assert not any(ok for _, _, ok in mail.logins)


def test_an_untrusted_certificate_fails_without_sending_the_password(
    tls: TlsFiles, smtp: MailServer
) -> None:
    untrusted = {k: v for k, v in email(smtp.port, tls).items() if k != "ca_file"}
    report = send_notice(notice(), settings(untrusted))
    (delivery,) = report.deliveries
    assert delivery.status == "failed"
    assert delivery.reason.startswith("STARTTLS: TLS certificate not trusted")
    assert smtp.logins == []


def test_the_ca_can_come_from_ssl_cert_file(
    tls: TlsFiles, smtp: MailServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca_file))  # how an operator trusts a private CA
    trusted = {k: v for k, v in email(smtp.port, tls).items() if k != "ca_file"}
    assert send_notice(notice(), settings(trusted)).exit_code == 0
    assert len(smtp.messages) == 1


def test_https_webhook_verified_against_the_configured_ca(tls: TlsFiles) -> None:
    with hooks(tls.server) as secure:
        url = f"https://127.0.0.1:{secure.port}/hook/{TOKEN}"
        untrusted = send_notice(notice(), settings({"type": "slack", "url": url}))
        trusted = send_notice(
            notice(), settings({"type": "slack", "url": url, "ca_file": str(tls.ca_file)})
        )
    assert untrusted.deliveries[0].reason.startswith("TLS certificate not trusted")
    assert untrusted.deliveries[0].attempts == 1
    assert trusted.exit_code == 0
    assert len(secure.received) == 1


def test_an_smtp_server_that_is_down_is_unreachable(tls: TlsFiles) -> None:
    report = send_notice(notice(), settings(email(free_port(), tls)), sleep=no_sleep)
    (delivery,) = report.deliveries
    assert delivery.reason == "connecting: connection refused (after 3 attempts)"
    assert delivery.unreachable
    assert report.exit_code == 3


def test_an_smtp_server_that_never_greets_times_out(tls: TlsFiles) -> None:
    with silent_port() as port:
        began = time.monotonic()
        report = send_notice(
            notice(),
            settings(email(port, tls), timeout=0.3, attempts=2),
            sleep=no_sleep,
        )
        took = time.monotonic() - began
    (delivery,) = report.deliveries
    assert delivery.reason == "connecting: no answer within 0.3 s (after 2 attempts)"
    assert took < 3


def test_channels_by_kind_and_none_for_a_kind_is_a_config_error(webhook: Hooks) -> None:
    only_alerts = settings({"type": "slack", "url": webhook.recording_url, "kinds": ["alert"]})
    with pytest.raises(ConfigError, match="no notification channel carries maintenance"):
        send_notice(notice(), only_alerts)
    assert webhook.received == []
