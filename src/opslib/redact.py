"""Keep secrets out of every message: DSN passwords and URL credentials become ``***``."""

from __future__ import annotations

import re

__all__ = ["redact"]

_URL_CREDENTIALS = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]*)@", re.I
)
_KV_PASSWORD = re.compile(r"(?P<key>\bpassword\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|\S+)", re.I)


def redact(text: str, *secrets: str) -> str:
    """``text`` with URL passwords, ``password=`` values and each of ``secrets`` masked."""
    out = _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    out = _KV_PASSWORD.sub(lambda m: f"{m['key']}***", out)
    for secret in secrets:
        for password in _passwords_in(secret):
            out = out.replace(password, "***")
    return out


def _passwords_in(secret: str) -> list[str]:
    found = [m["pw"] for m in _URL_CREDENTIALS.finditer(secret)]
    found += [m["pw"].strip("'") for m in _KV_PASSWORD.finditer(secret)]
    if not found and "=" not in secret and "://" not in secret:
        found = [secret]
    return [p for p in found if len(p) >= 4]
