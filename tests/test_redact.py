from __future__ import annotations

from opslib.redact import redact


def test_url_password_masked_user_kept() -> None:
    assert (
        redact("via http://bob:s3cret@127.0.0.1:3128 now")
        == "via http://bob:***@127.0.0.1:3128 now"
    )


def test_libpq_password_masked() -> None:
    assert redact("host=h password=hunter22 user=u") == "host=h password=*** user=u"
    assert redact("password='a b c' dbname=x") == "password=*** dbname=x"


def test_explicit_secret_masked_wherever_it_appears() -> None:
    dsn = "host=127.0.0.1 password=Zebra-77 user=u"
    assert "Zebra-77" not in redact("FATAL: auth failed for Zebra-77", dsn)


def test_text_without_secrets_unchanged() -> None:
    text = "queue_size = 12 (warn > 1000)"
    assert redact(text) == text
