"""``[notify]`` settings: channels, what is refused, and secrets that never show."""

from __future__ import annotations

from pathlib import Path

import pytest

from opslib.config import EmailChannel, NotifySettings, SlackChannel, load_settings
from opslib.errors import ConfigError
from opslib.redact import redact
from tests.support import without_opslib_environment

SLACK = "https://hooks.slack.com/services/T0001/B0002/abcdefSECRETtoken"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    without_opslib_environment(monkeypatch)
    monkeypatch.chdir(tmp_path)


def load(tmp_path: Path, text: str) -> NotifySettings:
    path = tmp_path / "opslib.toml"
    path.write_text(text)
    return load_settings(path).notify


def test_channels_from_the_config_file(tmp_path: Path) -> None:
    notify = load(
        tmp_path,
        f"""
[notify]
contact = "ops desk"
timezone = "Europe/Berlin"
[[notify.channels]]
type = "slack"
url = "{SLACK}"
kinds = ["alert"]
[[notify.channels]]
type = "email"
name = "oncall"
host = "smtp.example.com"
security = "tls"
username = "opslib"
password = "pw=with=equals-1"
from = "opslib@example.com"
to = ["oncall@example.com"]
""",
    )
    slack, mail = notify.channels
    assert isinstance(slack, SlackChannel)
    assert (slack.label, slack.kinds) == ("slack:hooks.slack.com", ("alert",))
    assert isinstance(mail, EmailChannel)
    assert (mail.label, mail.smtp_port, mail.sender) == ("oncall", 465, "opslib@example.com")
    # Remembered by load_settings: every later message masks them.
    assert redact(f"POST {SLACK} failed") == "POST https://hooks.slack.com*** failed"
    assert "with" not in redact("login pw=with=equals-1 refused").replace("login", "")


def test_a_bad_url_is_refused_without_showing_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, '[[notify.channels]]\ntype = "webhook"\nurl = "hooks/SECRETtoken123"\n')
    (problem,) = caught.value.problems
    assert "not an http(s) URL (not shown: a webhook URL is a secret)" in problem
    assert "SECRETtoken123" not in problem


@pytest.mark.parametrize(
    ("channel", "message"),
    [
        ('security = "none"\nusername = "u"\npassword = "pw-12345"',
         "refusing to send an SMTP password unencrypted"),
        ('password = "pw-12345"', "a password needs a username"),
        ('to = []', "at least 1 item"),
        ('to = ["ops@example.com\\nBcc: x@y.z"]', "not an e-mail address"),
    ],
    ids=["plain-password", "no-username", "no-recipient", "header-injection"],
)  # fmt: skip
def test_unsafe_or_incomplete_email_channels_are_refused(
    tmp_path: Path, channel: str, message: str
) -> None:
    base = {"type": '"email"', "host": '"smtp.example.com"', "from": '"o@example.com"',
            "to": '["a@example.com"]'}  # fmt: skip
    given = {line.split(" = ")[0] for line in channel.splitlines()}
    lines = [f"{k} = {v}" for k, v in base.items() if k not in given] + channel.splitlines()
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, "[[notify.channels]]\n" + "\n".join(lines) + "\n")
    assert any(message in p for p in caught.value.problems), caught.value.problems
    assert not any("pw-12345" in p for p in caught.value.problems)


def test_two_channels_with_one_label_and_a_bad_zone_are_refused() -> None:
    with pytest.raises(ValueError, match=r"two channels are called slack:hooks\.slack\.com"):
        NotifySettings.model_validate(
            {"channels": [{"type": "slack", "url": SLACK}, {"type": "slack", "url": SLACK + "2"}]}
        )
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        NotifySettings(timezone="Mars/Olympus")
