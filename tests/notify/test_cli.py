"""``opslib notify maintenance | completion`` against real receivers and a real audit log."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from opslib.cli import main
from opslib.config import toml_value
from tests.dbkit import TestDatabase
from tests.notify.receivers import PASSWORD, TOKEN, USER, Hooks, MailServer, TlsFiles
from tests.support import free_port

SECRETS = (TOKEN, PASSWORD)


def write_config(path: Path, channels: list[dict[str, Any]], dsn: str | None) -> Path:
    lines = ['platform_name = "pricewatch-test"']
    if dsn is not None:
        lines.append(f"database_dsn = {toml_value(dsn)}")
    lines += ["[notify]", 'contact = "ops desk, +49 30 1234"', "timeout = 2", "attempts = 2"]
    for channel in channels:
        lines.append("[[notify.channels]]")
        lines += [f"{key} = {toml_value(value)}" for key, value in channel.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def slack(hooks: Hooks, name: str = "ops-slack") -> dict[str, Any]:
    return {"type": "slack", "name": name, "url": hooks.recording_url}


def mail(server: MailServer, tls: TlsFiles) -> dict[str, Any]:
    return {
        "type": "email",
        "name": "oncall-mail",
        "host": "127.0.0.1",
        "port": server.port,
        "username": USER,
        "password": PASSWORD,
        "from": "opslib@example.com",
        "to": ["oncall@example.com"],
        "ca_file": str(tls.ca_file),
    }


@pytest.fixture
def configure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, platform_db: TestDatabase) -> Any:
    """Write a config with these channels (and the test database) and point opslib at it."""
    for name in ("OPSLIB_DATABASE_DSN", "OPSLIB_ACTOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPSLIB_ACTOR", "alice")

    def make(channels: list[dict[str, Any]], *, database: bool = True) -> TestDatabase:
        dsn = platform_db.dsn if database else None
        path = write_config(tmp_path / "opslib.toml", channels, dsn)
        monkeypatch.setenv("OPSLIB_CONFIG", str(path))
        return platform_db

    return make


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def audit_rows(db: TestDatabase) -> list[dict[str, Any]]:
    return db.fetch_all(
        "SELECT actor, action, arguments, dry_run, outcome, detail FROM opslib.audit_log"
        " WHERE action LIKE 'notify.%' ORDER BY id"
    )


def assert_no_secret(*texts: str) -> None:
    __tracebackhide__ = True
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def test_dry_run_shows_the_notice_and_channels_and_sends_nothing(
    configure: Any,
    webhook: Hooks,
    smtp: MailServer,
    tls: TlsFiles,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = configure([slack(webhook), mail(smtp, tls)])
    code, out, err = run(
        capsys, "notify", "maintenance", "--start", "2025-06-01T01:00Z", "--until", "90m",
        "--reason", "PostgreSQL 16 upgrade", "--scope", "scraper", "--dry-run",
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith(
        "Subject: [pricewatch-test] Planned maintenance 2025-06-01 01:00-02:30 UTC (1 h 30 min):"
        " PostgreSQL 16 upgrade\n"
    )
    assert "Contact:      ops desk, +49 30 1234\n" in out
    assert "Announced by: alice\n" in out
    assert out.endswith(
        "would send to:\n"
        f"  ops-slack (slack, http://127.0.0.1:{webhook.port})\n"
        f"  oncall-mail (email, 127.0.0.1:{smtp.port} -> oncall@example.com)\n"
    )
    assert webhook.received == []
    assert smtp.messages == []
    (row,) = audit_rows(db)
    assert (row["actor"], row["action"], row["dry_run"], row["outcome"]) == (
        "alice", "notify.maintenance", True, "ok",
    )  # fmt: skip
    assert row["arguments"]["channels"] == ["ops-slack", "oncall-mail"]
    assert row["detail"] == "would send to ops-slack, oncall-mail"
    assert_no_secret(out, err, json.dumps(audit_rows(db), default=str))


def test_maintenance_notice_reaches_webhook_and_mail_and_is_audited(
    configure: Any,
    webhook: Hooks,
    smtp: MailServer,
    tls: TlsFiles,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    db = configure([slack(webhook), mail(smtp, tls)])
    caplog.set_level(logging.DEBUG)
    code, out, err = run(
        capsys, "-vv", "--json", "notify", "maintenance", "--start", "2025-06-01T01:00Z",
        "--until", "2025-06-01T05:00Z", "--reason", "PostgreSQL 16 upgrade",
    )  # fmt: skip
    assert code == 0, err
    shown = json.loads(out)
    assert [(c["channel"], c["status"]) for c in shown["channels"]] == [
        ("ops-slack", "sent"),
        ("oncall-mail", "sent"),
    ]
    assert shown["audit"] == "written"
    (hook,) = webhook.received
    assert hook.path == f"/hook/{TOKEN}"
    fields = [f["text"] for block in hook.body["blocks"] for f in block.get("fields", [])]
    assert "*Duration*\n4 h" in fields
    (message,) = smtp.messages
    body = message.get_content()
    assert "Starts:       2025-06-01 01:00 UTC" in body
    assert "Expected end: 2025-06-01 05:00 UTC" in body
    assert "Contact:      ops desk, +49 30 1234" in body
    (row,) = audit_rows(db)
    assert (row["dry_run"], row["outcome"], row["detail"]) == (
        False, "ok", "sent to ops-slack, oncall-mail",
    )  # fmt: skip
    assert row["arguments"]["reason"] == "PostgreSQL 16 upgrade"
    # httpx logs every request with its URL: the token in its path is masked.
    assert f"HTTP Request: POST http://127.0.0.1:{webhook.port}*** " in caplog.text
    assert_no_secret(out, err, caplog.text, json.dumps(audit_rows(db), default=str))


def test_completion_notice_says_what_how_long_and_the_outcome(
    configure: Any, webhook: Hooks, capsys: pytest.CaptureFixture[str]
) -> None:
    db = configure([{"type": "webhook", "name": "ci", "url": webhook.recording_url}])
    code, out, err = run(
        capsys, "notify", "completion", "--outcome", "failed", "--summary",
        "migrations applied; scraper image not pulled", "--started", "+0m",
    )  # fmt: skip
    assert code == 0, err
    (hook,) = webhook.received
    assert hook.body["kind"] == "completion"
    assert hook.body["subject"] == "[pricewatch-test] Maintenance FAILED"
    assert (
        hook.body["fields"]["Outcome"] == "failed: did not complete: the platform may be degraded"
    )
    assert hook.body["fields"]["What was done"] == "migrations applied; scraper image not pulled"
    assert hook.body["fields"]["Duration"].endswith(" s")
    assert hook.body["fields"]["Contact"] == "ops desk, +49 30 1234"
    assert [r["outcome"] for r in audit_rows(db)] == ["ok"]
    assert "ci" in out


@pytest.mark.parametrize(
    ("good", "bad", "code", "outcome"),
    [(1, ["/fail"], 1, "failed"), (0, ["/fail"], 2, "failed"), (0, ["down"], 3, "failed")],
    ids=["some-failed", "all-failed", "none-reached"],
)
def test_exit_status_by_deliveries(
    configure: Any,
    webhook: Hooks,
    capsys: pytest.CaptureFixture[str],
    good: int,
    bad: list[str],
    code: int,
    outcome: str,
) -> None:
    channels = [slack(webhook)] * good
    for path in bad:
        url = webhook.url(path) if path != "down" else f"http://127.0.0.1:{free_port()}/"
        channels.append({"type": "webhook", "name": "broken", "url": url})
    db = configure(channels)
    status, out, err = run(
        capsys, "notify", "completion", "--outcome", "ok", "--summary", "done"
    )  # fmt: skip
    assert status == code
    assert "broken" in out
    assert "channel(s) failed" in out
    assert "Traceback" not in out + err
    (row,) = audit_rows(db)
    assert row["outcome"] == outcome
    assert "failed: broken (" in row["detail"]
    assert ("sent to ops-slack" in row["detail"]) == bool(good)


def test_without_a_database_the_notice_still_goes(
    configure: Any, webhook: Hooks, capsys: pytest.CaptureFixture[str]
) -> None:
    configure([slack(webhook)], database=False)
    code, out, _err = run(
        capsys, "notify", "maintenance", "--start", "now", "--until", "1h", "--reason", "disk"
    )
    assert code == 0
    assert len(webhook.received) == 1
    assert "opslib: warning: audit entry not written: postgresql: no database configured" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--start", "2025-06-01T05:00Z", "--until", "2025-06-01T04:00Z", "--reason", "x"],
         "maintenance window: the expected end (2025-06-01 04:00 UTC) is not after the start"
         " (2025-06-01 05:00 UTC)"),
        (["--start", "tomorrow-ish", "--until", "1h", "--reason", "x"],
         "'tomorrow-ish' is not a time (now, +30m, HH:MM or ISO 8601 like 2025-06-01T02:00)"),
        (["--start", "now", "--until", "1h", "--reason", "  "], "reason: empty"),
    ],
    ids=["end-before-start", "bad-time", "empty-reason"],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(
    configure: Any,
    webhook: Hooks,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    configure([slack(webhook)])
    code, _out, err = run(capsys, "notify", "maintenance", *argv)
    assert code == 2
    assert err == f"opslib: error: {message}\n"
    assert webhook.received == []


def test_no_channel_for_the_kind_is_exit_2(
    configure: Any, webhook: Hooks, capsys: pytest.CaptureFixture[str]
) -> None:
    configure([{**slack(webhook), "kinds": ["alert"]}])
    code, _out, err = run(capsys, "notify", "completion", "--outcome", "ok", "--summary", "x")
    assert code == 2
    assert "no notification channel carries completion notices" in err


def test_a_bad_channel_setting_never_shows_the_url(
    configure: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    configure([{"type": "slack", "url": f"ftp://hooks.example/{TOKEN}"}])
    code, _out, err = run(capsys, "notify", "completion", "--outcome", "ok", "--summary", "x")
    assert code == 2
    assert "notify.channels.0.slack.url: Value error, not an http(s) URL" in err
    assert TOKEN not in err
