"""Keep secrets out of every message and every log record.

:func:`redact` masks URL credentials (``scheme://user:***@``), ``password=`` values,
``auth=(b'user', b'***')`` tuples (httpcore's SOCKS traces), ``Authorization`` header values and
every secret :func:`remember_secrets` was told about (the loaded settings' DSN password and URL
passwords). :func:`install_log_mask` makes the logging module apply it to every record of every
logger when the record is created, so no handler (a terminal, pytest's live log, a log file)
ever sees the secret; records a disabled level drops are never built, so it costs nothing
while logging is off.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any
from urllib.parse import quote, unquote

__all__ = ["install_log_mask", "redact", "remember_secrets", "remove_log_mask"]

_URL_CREDENTIALS = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]*)@", re.I
)
_KV_PASSWORD = re.compile(
    r"(?P<key>(?<![a-z0-9])(?:pg)?pass(?:word|wd)?[\"']?\s*[=:]\s*)"
    r"(?P<pw>b?'(?:[^'\\]|\\.)*'|b?\"(?:[^\"\\]|\\.)*\"|\S+)",
    re.I,
)
_AUTH_TUPLE = re.compile(
    r"(?P<key>auth[\"']?\s*[=:]\s*\(\s*(?:b?'(?:[^'\\]|\\.)*'|b?\"(?:[^\"\\]|\\.)*\")\s*,\s*)"
    r"(?P<pw>b?'(?:[^'\\]|\\.)*'|b?\"(?:[^\"\\]|\\.)*\")",
    re.I,
)
_AUTH_HEADER = re.compile(
    r"(?P<key>authorization[\"']?\s*[=:]\s*[\"']?(?:basic|bearer|digest)\s+)(?P<pw>[^\s\"',]+)",
    re.I,
)
_MIN_SECRET = 4  # shorter "secrets" would mask ordinary words
_lock = threading.Lock()


def redact(text: str, *secrets: str) -> str:
    """``text`` with credentials, the remembered secrets and each of ``secrets`` masked."""
    out = _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    out = _KV_PASSWORD.sub(lambda m: f"{m['key']}***", out)
    out = _AUTH_TUPLE.sub(lambda m: f"{m['key']}***", out)
    out = _AUTH_HEADER.sub(lambda m: f"{m['key']}***", out)
    extra = sorted({p for s in secrets for p in _passwords_in(s)}, key=len, reverse=True)
    for password in (*extra, *_Mask.known):
        if password in out:
            out = out.replace(password, "***")
    return out


def remember_secrets(*secrets: str) -> None:
    """Mask these secrets (a DSN or URL gives its password) in every later :func:`redact` and
    masked log record of this process."""
    found = {p for s in secrets for p in _passwords_in(s)}
    with _lock:
        _Mask.known = tuple(sorted(found.union(_Mask.known), key=len, reverse=True))


def _passwords_in(secret: str) -> list[str]:
    found = [m["pw"] for m in _URL_CREDENTIALS.finditer(secret)]
    found += [m["pw"].strip("'\"") for m in _KV_PASSWORD.finditer(secret)]
    if not found and "=" not in secret and "://" not in secret:
        found = [secret]
    # The form written, decoded (as a client sends it) and percent-encoded (as a URL shows it).
    forms = {f for p in found for f in (p, unquote(p), quote(unquote(p), safe=""))}
    return [p for p in forms if len(p) >= _MIN_SECRET]


class _Mask:
    """The secrets remembered, the masking record factory in force, and how many installs
    hold it (nested pytest runs)."""

    known: tuple[str, ...] = ()

    factory: Any = None
    previous: Any = None
    depth = 0


def _mask_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a bad format: logging reports it when the record is emitted
        return
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and not record.exc_text:
        # Formatters reuse exc_text, so the traceback is rendered (and masked) once, here.
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def _masking(previous: Any) -> Any:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = previous(*args, **kwargs)
        _mask_record(record)
        return record

    return factory


def install_log_mask() -> None:
    """Mask every log record of every logger from now on (``redact`` on its message, args and
    traceback); calls nest, each matched by :func:`remove_log_mask`."""
    with _lock:
        if _Mask.depth == 0:
            _Mask.previous = logging.getLogRecordFactory()
            _Mask.factory = _masking(_Mask.previous)
            logging.setLogRecordFactory(_Mask.factory)
        _Mask.depth += 1


def remove_log_mask() -> None:
    """Undo one :func:`install_log_mask`; the last one restores the previous record factory."""
    with _lock:
        if _Mask.depth == 0:
            return
        _Mask.depth -= 1
        if _Mask.depth == 0:
            # A factory installed on top of ours keeps calling ours, which still masks.
            if logging.getLogRecordFactory() is _Mask.factory:
                logging.setLogRecordFactory(_Mask.previous)
            _Mask.factory = _Mask.previous = None
