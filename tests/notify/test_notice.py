"""Templates, times and durations, and rendering for each channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from opslib.errors import InputError
from opslib.notify import (
    AlertedCheck,
    alert_notice,
    completion_notice,
    email_message,
    format_duration,
    format_time,
    format_window,
    maintenance_notice,
    parse_time,
    parse_until,
    slack_payload,
    webhook_payload,
)

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2025, 6, 1, 20, 15, tzinfo=UTC)  # 22:15 in Berlin (CEST)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(42, "42 s"), (60, "1 min"), (45 * 60, "45 min"), (2 * 3600, "2 h"),
     (9000, "2 h 30 min"), (27 * 3600 + 60, "1 d 3 h"), (86400, "1 d")],
)  # fmt: skip
def test_format_duration(seconds: int, shown: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == shown


def test_times_in_the_configured_zone() -> None:
    assert format_time(NOW) == "2025-06-01 20:15 UTC"
    assert format_time(NOW, BERLIN) == "2025-06-01 22:15 CEST (UTC+02:00)"
    late = NOW + timedelta(hours=3)
    assert format_window(NOW, NOW + timedelta(hours=1), BERLIN) == (
        "2025-06-01 22:15-23:15 CEST (UTC+02:00)"
    )
    assert format_window(NOW, late, BERLIN) == (
        "2025-06-01 22:15 CEST (UTC+02:00) to 2025-06-02 01:15 CEST (UTC+02:00)"
    )


def test_parse_time_forms() -> None:
    assert parse_time("now", BERLIN, NOW) == NOW
    assert parse_time("+30m", BERLIN, NOW) == NOW + timedelta(minutes=30)
    # HH:MM is the next one: 02:00 Berlin is tomorrow, 23:00 still today.
    assert parse_time("02:00", BERLIN, NOW) == datetime(2025, 6, 2, 0, 0, tzinfo=UTC)
    assert parse_time("23:00", BERLIN, NOW) == datetime(2025, 6, 1, 21, 0, tzinfo=UTC)
    assert parse_time("2025-06-03 01:00", BERLIN, NOW) == datetime(2025, 6, 2, 23, 0, tzinfo=UTC)
    assert parse_time("2025-06-03T01:00Z", BERLIN, NOW) == datetime(2025, 6, 3, 1, tzinfo=UTC)
    with pytest.raises(InputError, match="'soon' is not a time"):
        parse_time("soon", BERLIN, NOW)


def test_parse_until_after_the_start() -> None:
    start = parse_time("23:00", BERLIN, NOW)
    assert parse_until("90m", start, BERLIN, NOW) == start + timedelta(minutes=90)
    assert parse_until("1h30m", start, BERLIN, NOW) == start + timedelta(minutes=90)
    assert parse_until("01:00", start, BERLIN, NOW) == start + timedelta(hours=2)


def test_maintenance_notice_says_what_when_how_long_and_whom() -> None:
    notice = maintenance_notice(
        start=NOW, until=NOW + timedelta(hours=2), reason="PostgreSQL 16 upgrade",
        contact="ops desk", platform="pricewatch", announced_by="alice", zone=BERLIN,
    )  # fmt: skip
    assert notice.subject == (
        "[pricewatch] Planned maintenance 2025-06-01 22:15 CEST (UTC+02:00) to 2025-06-02"
        " 00:15 CEST (UTC+02:00) (2 h): PostgreSQL 16 upgrade"
    )
    assert dict(notice.fields) == {
        "What": "PostgreSQL 16 upgrade",
        "Scope": "the whole platform",
        "Starts": "2025-06-01 22:15 CEST (UTC+02:00)",
        "Expected end": "2025-06-02 00:15 CEST (UTC+02:00)",
        "Duration": "2 h",
        "Contact": "ops desk",
        "Announced by": "alice",
    }
    assert "Questions: ops desk." in notice.text


def test_completion_without_a_start_has_no_duration() -> None:
    notice = completion_notice(
        outcome="ok", summary="images pulled, migrations applied.", contact="ops desk",
        platform="pricewatch", ended=NOW,
    )  # fmt: skip
    assert notice.subject == "[pricewatch] Maintenance completed"
    assert dict(notice.fields)["Duration"] == "not recorded"
    assert "What was done: images pulled, migrations applied." in notice.text


def test_slack_escapes_what_operators_typed() -> None:
    notice = maintenance_notice(
        start=NOW, until=NOW + timedelta(hours=1), reason="<!channel> fix & <https://x|y>",
        contact="ops", platform="pricewatch",
    )  # fmt: skip
    payload = slack_payload(notice)
    texts = [payload["text"], payload["blocks"][1]["text"]["text"]]
    texts += [f["text"] for f in payload["blocks"][2]["fields"]]
    assert all("<!channel>" not in t and "<https" not in t for t in texts)
    assert "&lt;!channel&gt; fix &amp; &lt;https://x|y&gt;" in payload["blocks"][1]["text"]["text"]
    assert webhook_payload(notice)["fields"]["What"] == "<!channel> fix & <https://x|y>"


def test_a_long_alert_stays_within_slacks_limits() -> None:
    checks = [AlertedCheck(f"daily.c{i}", f"check {i}", "CRITICAL", "x" * 200) for i in range(60)]
    notice = alert_notice(checks, platform="pricewatch", finished=NOW, contact="ops")
    payload = slack_payload(notice)
    assert len(payload["blocks"]) <= 50
    sections = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section" and
                "text" in b]  # fmt: skip
    assert all(len(text) <= 3000 for text in sections)
    assert sections[-1].endswith("… and 20 more")
    assert len(webhook_payload(notice)["items"]) == 60


def test_email_message_headers_are_one_line() -> None:
    notice = maintenance_notice(
        start=NOW, until=NOW + timedelta(hours=1), reason="line one\nBcc: evil@example.com",
        contact="ops", platform="pricewatch",
    )  # fmt: skip
    message = email_message(notice, "Ops <ops@example.com>", ["a@example.com", "b@example.com"])
    assert "\n" not in str(message["Subject"])
    assert message["Bcc"] is None
    assert message["To"] == "a@example.com, b@example.com"
    assert str(message["Message-ID"]).endswith("@example.com>")


@pytest.mark.parametrize(
    ("change", "message"),
    [({"until": NOW}, "the expected end (2025-06-01 20:15 UTC) is not after the start"),
     ({"reason": " \n "}, "reason: empty"),
     ({"start": NOW.replace(tzinfo=None)}, "times must carry a time zone")],
)  # fmt: skip
def test_bad_windows_are_input_errors(change: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {
        "start": NOW, "until": NOW + timedelta(hours=1), "reason": "x", "contact": "ops",
        "platform": "pricewatch", **change,
    }  # fmt: skip
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        maintenance_notice(**arguments)  # type: ignore[arg-type]
