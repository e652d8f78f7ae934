from __future__ import annotations

import logging

import pytest

from opslib.redact import install_log_mask, redact, remember_secrets, remove_log_mask


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


def test_auth_tuples_headers_and_quoted_keys_masked() -> None:
    trace = "setup_socks5_connection.started host='h' port=1 auth=(b'user', b'So\\'cks-99')"
    assert redact(trace) == "setup_socks5_connection.started host='h' port=1 auth=(b'user', ***)"
    assert redact("Proxy-Authorization: Basic dXNlcjpwYXNz") == "Proxy-Authorization: Basic ***"
    assert redact("{'password': 'xyz123', 'PGPASSWORD': 'abc'}") == (
        "{'password': ***, 'PGPASSWORD': ***}"
    )


def test_remembered_secret_masked_in_every_form() -> None:
    remember_secrets("host=h password=Rem%40mbered-9 user=u")
    shown = redact("Rem@mbered-9 / Rem%40mbered-9")
    assert "mbered-9" not in shown


def test_log_mask_covers_every_logger_and_traceback(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    install_log_mask()
    try:
        logging.getLogger("third.party").info("GET %s", "http://u:Logged-Pw-1@h/x")
        logging.getLogger("other").error("failed", exc_info=ValueError("auth=(b'u', b'Exc-Pw-22')"))
    finally:
        remove_log_mask()
    text = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    assert "GET http://u:***@h/x" in text
    assert "Logged-Pw-1" not in text
    assert "Exc-Pw-22" not in text
    assert "ValueError" in text


def test_log_mask_nests_and_restores_the_factory() -> None:
    before = logging.getLogRecordFactory()
    install_log_mask()
    install_log_mask()
    remove_log_mask()
    make = logging.getLogRecordFactory()
    record = make("n", logging.INFO, "p", 1, "http://u:Nest-Pw-3@h", (), None)
    assert record.getMessage() == "http://u:***@h"  # still masked: one install remains
    remove_log_mask()
    assert logging.getLogRecordFactory() is before
