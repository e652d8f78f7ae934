"""``--ops-notify``: one alert on the notify channels, sent to real local receivers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from opslib.config import toml_value
from tests.notify.receivers import (
    PASSWORD,
    TOKEN,
    USER,
    Hooks,
    MailServer,
    TlsFiles,
)
from tests.pytest_plugin.conftest import RESULTS

pytest_plugins = ["pytester"]

CHECKS = (
    RESULTS
    + """
from opslib.errors import UnreachableError


@pytest.mark.sop("daily.health")
def test_ok(ops_verdict):
    ops_verdict(cpu(40))


@pytest.mark.sop("daily.health")
def test_warning(ops_verdict):
    ops_verdict(cpu(85))


@pytest.mark.sop("daily.performance")
def test_critical(ops_verdict):
    ops_verdict(cpu(97, sop="daily.performance"))


@pytest.mark.sop("daily.health")
def test_unreachable(ops_verdict):
    raise UnreachableError("prometheus", "http://127.0.0.1:1: refused")
"""
)

ALL_OK = (
    RESULTS
    + """

@pytest.mark.sop("daily.health")
def test_ok(ops_verdict):
    ops_verdict(cpu(40))
"""
)


def config(path: Path, *channels: dict[str, Any]) -> str:
    lines = ['platform_name = "pricewatch-ci"', "[notify]", 'contact = "ops desk"',
             "timeout = 2", "attempts = 2"]  # fmt: skip
    for channel in channels:
        lines.append("[[notify.channels]]")
        lines += [f"{key} = {toml_value(value)}" for key, value in channel.items()]
    path.write_text("\n".join(lines) + "\n")
    return f"--ops-config={path}"


def email(smtp: MailServer, tls: TlsFiles) -> dict[str, Any]:
    return {
        "type": "email", "name": "oncall", "host": "127.0.0.1", "port": smtp.port,
        "username": USER, "password": PASSWORD, "from": "opslib@example.com",
        "to": ["oncall@example.com"], "ca_file": str(tls.ca_file),
    }  # fmt: skip


def test_one_alert_lists_the_critical_and_unknown_checks(
    checks: pytest.Pytester, webhook: Hooks, smtp: MailServer, tls: TlsFiles
) -> None:
    checks.makepyfile(test_daily=CHECKS)
    option = config(
        checks.path / "opslib.toml",
        {"type": "webhook", "name": "alerts-hook", "url": webhook.recording_url},
        email(smtp, tls),
    )
    result = checks.runpytest(option, "--ops-notify")
    assert result.ret == 1  # as without the option
    result.stdout.fnmatch_lines(["opslib: alert on 2 check(s) sent to alerts-hook, oncall"])
    (hook,) = webhook.received
    body = hook.body
    assert body["kind"] == "alert"
    assert body["subject"] == "[opslib] 1 CRITICAL, 1 UNKNOWN: daily checks on pricewatch-ci"
    assert body["items"] == [
        {"sop": "daily.performance", "check": "CPU usage", "severity": "CRITICAL",
         "message": body["items"][0]["message"]},
        {"sop": "daily.health", "check": "test_unreachable", "severity": "UNKNOWN",
         "message": "UNKNOWN: prometheus unreachable: http://127.0.0.1:1: refused"},
    ]  # fmt: skip
    assert body["items"][0]["message"].startswith("CRITICAL")
    assert "97" in body["items"][0]["message"]
    assert body["fields"]["Platform"] == "pricewatch-ci"
    assert body["fields"]["Contact"] == "ops desk"
    (message,) = smtp.messages
    assert message["Subject"] == body["subject"]
    content = message.get_content()
    assert "- UNKNOWN [daily.health] test_unreachable: UNKNOWN: prometheus unreachable" in content
    assert "Platform:  pricewatch-ci" in content
    output = result.stdout.str() + result.stderr.str()
    assert TOKEN not in output
    assert PASSWORD not in output


def test_warning_level_adds_warnings(checks: pytest.Pytester, webhook: Hooks) -> None:
    checks.makepyfile(test_daily=CHECKS)
    option = config(checks.path / "opslib.toml", {"type": "slack", "url": webhook.recording_url})
    result = checks.runpytest(option, "--ops-notify=warning")
    assert result.ret == 1
    (hook,) = webhook.received
    listed = "\n".join(block["text"]["text"] for block in hook.body["blocks"][1:]
                       if "text" in block)  # fmt: skip
    assert "*WARNING* `daily.health` CPU usage" in listed
    assert "*CRITICAL* `daily.performance` CPU usage" in listed
    assert "*UNKNOWN* `daily.health` test_unreachable" in listed
    assert "OK" not in listed.replace("UNKNOWN", "")


def test_nothing_to_alert_sends_nothing(checks: pytest.Pytester, webhook: Hooks) -> None:
    checks.makepyfile(test_daily=ALL_OK)
    option = config(checks.path / "opslib.toml", {"type": "slack", "url": webhook.recording_url})
    result = checks.runpytest(option, "--ops-notify")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["opslib: no alert sent: no check CRITICAL or UNKNOWN"])
    assert webhook.received == []


def test_a_failed_send_is_one_line_and_keeps_the_exit_status(
    checks: pytest.Pytester, webhook: Hooks
) -> None:
    checks.makepyfile(test_daily=CHECKS)
    option = config(
        checks.path / "opslib.toml",
        {"type": "webhook", "name": "broken", "url": webhook.url(f"/fail?token={TOKEN}")},
        {"type": "slack", "name": "good", "url": webhook.recording_url},
    )
    result = checks.runpytest(option, "--ops-notify")
    assert result.ret == 1
    result.stdout.fnmatch_lines([
        f"opslib: alert not sent to broken (http://127.0.0.1:{webhook.port}): HTTP 500 Internal"
        " Server Error: receiver down (after 2 attempts)",
        "opslib: alert on 2 check(s) sent to good",
    ])  # fmt: skip
    assert len(webhook.received) == 1
    output = result.stdout.str() + result.stderr.str()
    assert TOKEN not in output
    assert "Traceback" not in output


def test_no_alert_channel_is_one_line(checks: pytest.Pytester, webhook: Hooks) -> None:
    checks.makepyfile(test_daily=CHECKS)
    option = config(
        checks.path / "opslib.toml",
        {"type": "slack", "url": webhook.recording_url, "kinds": ["maintenance", "completion"]},
    )
    result = checks.runpytest(option, "--ops-notify")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        ["opslib: alert not sent: no notification channel carries alerts ([[notify.channels]])"]
    )
    assert webhook.received == []


def test_bad_level_is_a_usage_error(checks: pytest.Pytester) -> None:
    checks.makepyfile(test_daily=ALL_OK)
    result = checks.runpytest("--ops-notify=everything")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--ops-notify: invalid choice: 'everything'*"])
