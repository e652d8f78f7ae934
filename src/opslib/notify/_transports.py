"""The two ways a notice leaves: an HTTP POST of JSON (httpx) and SMTP (smtplib).

Each translates its library's errors at this edge into one :class:`SendFailure`, saying
whether another attempt may help (``transient``: nothing was delivered, or the server asked to
come back) and whether the server was reached at all (``unreachable``).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx

__all__ = ["SendFailure", "post_json", "send_mail", "tls_context"]


class SendFailure(Exception):
    """A send that did not go through; ``reason`` is one line, free of secrets once masked."""

    def __init__(self, reason: str, *, transient: bool, unreachable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.unreachable = unreachable


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """A verifying TLS context: ``ca_file`` alone, else the system's (``$SSL_CERT_FILE``)."""
    try:
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise SendFailure(f"ca_file {ca_file}: {_os_reason(exc)}", transient=False) from exc


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted: {exc.verify_message or exc.reason}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS: {exc.reason or exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower() if exc.strerror[:1].isupper() else exc.strerror
    return " ".join(str(exc).split()) or type(exc).__name__


def _tls_cause(exc: BaseException) -> ssl.SSLError | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def post_json(url: str, body: dict[str, Any], *, timeout: float, tls: ssl.SSLContext) -> None:
    """POST ``body`` as JSON; a 2xx answer is success, anything else a :class:`SendFailure`
    (429 and 5xx transient, as are connection errors; a read timeout is not: the message
    may have arrived)."""
    try:
        with httpx.Client(timeout=timeout, verify=tls, trust_env=False) as client:
            response = client.post(url, json=body)
    except httpx.ConnectTimeout as exc:
        raise SendFailure(
            f"no connection within {timeout:g} s", transient=True, unreachable=True
        ) from exc
    except httpx.TimeoutException as exc:
        raise SendFailure(
            f"no answer within {timeout:g} s", transient=False, unreachable=True
        ) from exc
    except httpx.ConnectError as exc:
        cause = _tls_cause(exc)
        if cause is not None:
            raise SendFailure(_os_reason(cause), transient=False) from exc
        raise SendFailure(_connect_reason(exc), transient=True, unreachable=True) from exc
    except httpx.RemoteProtocolError as exc:
        raise SendFailure(f"connection closed: {exc}", transient=True) from exc
    except httpx.HTTPError as exc:
        raise SendFailure(str(exc) or type(exc).__name__, transient=False) from exc
    if 200 <= response.status_code < 300:
        return
    first = response.text.strip().splitlines()[:1]
    detail = f": {first[0][:120]}" if first else ""
    raise SendFailure(
        f"HTTP {response.status_code} {response.reason_phrase}".rstrip() + detail,
        transient=response.status_code == 429 or response.status_code >= 500,
    )


def _connect_reason(exc: httpx.ConnectError) -> str:
    cause = exc.__cause__ or exc.__context__
    while cause is not None and not isinstance(cause, OSError):
        cause = cause.__cause__ or cause.__context__
    return _os_reason(cause) if cause is not None else (str(exc) or "connection failed")


@contextmanager
def _smtp_errors(timeout: float, phase: list[str]) -> Iterator[None]:
    """SMTP and socket errors as SendFailures; ``phase[0]`` says how far the exchange got."""

    def step() -> str:  # read when the error happens
        return phase[0]

    try:
        yield
    except smtplib.SMTPAuthenticationError as exc:
        raise SendFailure(
            f"authentication refused: {exc.smtp_code} {_text(exc.smtp_error)}", transient=False
        ) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        refused = ", ".join(f"{rcpt} ({code})" for rcpt, (code, _) in exc.recipients.items())
        raise SendFailure(f"recipients refused: {refused}", transient=False) from exc
    except smtplib.SMTPResponseException as exc:
        raise SendFailure(
            f"{step()}: {exc.smtp_code} {_text(exc.smtp_error)}",
            transient=400 <= exc.smtp_code < 500,
        ) from exc
    except smtplib.SMTPServerDisconnected as exc:
        # smtplib reports a read that timed out as a disconnection.
        timed_out = "timed out" in str(exc)
        why = f"no answer within {timeout:g} s" if timed_out else "server disconnected"
        raise SendFailure(
            f"{step()}: {why}",
            transient=step() != "sending",
            unreachable=timed_out and step() == "connecting",
        ) from exc
    except smtplib.SMTPException as exc:
        raise SendFailure(f"{step()}: {exc}", transient=False) from exc
    except ssl.SSLError as exc:
        raise SendFailure(f"{step()}: {_os_reason(exc)}", transient=False) from exc
    except TimeoutError as exc:
        raise SendFailure(
            f"{step()}: no answer within {timeout:g} s",
            transient=step() != "sending",
            unreachable=step() == "connecting",
        ) from exc
    except OSError as exc:
        connecting = step() == "connecting"
        raise SendFailure(
            f"{step()}: {_os_reason(exc)}", transient=step() != "sending", unreachable=connecting
        ) from exc


def _text(error: bytes | str) -> str:
    text = error.decode("utf-8", "replace") if isinstance(error, bytes) else error
    return " ".join(text.split())[:160]


def send_mail(
    message: EmailMessage,
    *,
    host: str,
    port: int,
    security: str,
    username: str | None,
    password: str | None,
    timeout: float,
    tls: ssl.SSLContext,
) -> None:
    """Deliver ``message`` over SMTP: STARTTLS before anything else (never falling back to
    plain text), implicit TLS, or neither; then AUTH when a username is set."""
    phase = ["connecting"]
    with _smtp_errors(timeout, phase):
        client: smtplib.SMTP
        if security == "tls":
            client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=tls)
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            phase[0] = "greeting"
            client.ehlo()
            if security == "starttls":
                phase[0] = "STARTTLS"
                if not client.has_extn("starttls"):
                    raise SendFailure("the server offers no STARTTLS", transient=False)
                client.starttls(context=tls)
                client.ehlo()
            if username is not None:
                phase[0] = "login"
                client.login(username, password or "")
            phase[0] = "sending"
            refused = client.send_message(message)
            if refused:
                shown = ", ".join(f"{rcpt} ({code})" for rcpt, (code, _) in refused.items())
                raise SendFailure(f"recipients refused: {shown}", transient=False)
