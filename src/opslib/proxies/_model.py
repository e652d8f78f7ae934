"""A proxy as opslib knows it: where it is, how to log in (a secret), where it exits."""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from urllib.parse import quote, unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from opslib.errors import DataError

__all__ = ["SCHEMES", "Proxy", "ProxyState", "parse_proxy_url"]

SCHEMES = ("http", "https", "socks5")
"""The proxy URL schemes the pool accepts."""
_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
_COUNTRY = re.compile(r"^[a-z]{2}$")


class ProxyState(StrEnum):
    """``active`` proxies are handed out; ``reserve`` wait for promotion; ``quarantined`` were
    taken out for failing or bans; ``retired`` left the list."""

    ACTIVE = "active"
    RESERVE = "reserve"
    QUARANTINED = "quarantined"
    RETIRED = "retired"


class Proxy(BaseModel):
    """One proxy; ``url`` never holds credentials, ``password`` is a secret."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scheme: str
    host: str
    port: int = Field(ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    country: str | None = None
    source: str = ""
    tags: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        """``scheme://host:port``: the proxy's identity and label, safe to print."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def connect_url(self) -> str:
        """The URL with credentials, for the HTTP client only: never print it."""
        if self.username is None:
            return self.url
        secret = self.password.get_secret_value() if self.password is not None else ""
        auth = f"{quote(self.username, safe='')}:{quote(secret, safe='')}@"
        return self.url.replace("://", f"://{auth}", 1)


def parse_proxy_url(
    text: str,
    *,
    country: str | None = None,
    source: str = "",
    tags: tuple[str, ...] = (),
    default_scheme: str = "http",
) -> Proxy:
    """A :class:`Proxy` from ``host:port`` or ``scheme://[user:pass@]host:port``.

    Raises :class:`DataError` naming what is wrong (never echoing the password).
    """
    raw = text.strip()
    if not raw:
        raise DataError("empty proxy address")
    if "://" not in raw:
        raw = f"{default_scheme}://{raw}"
    try:
        parts = urlsplit(raw)
    except ValueError:  # an unclosed "[", or characters NFKC turns into URL syntax
        raise DataError("invalid host") from None
    try:
        port = parts.port
    except ValueError as exc:
        raise DataError(_port_problem(str(exc))) from None
    scheme = parts.scheme.lower()
    if scheme == "socks5h":
        scheme = "socks5"
    if scheme not in SCHEMES:
        raise DataError(f"unknown scheme {parts.scheme!r} (use {', '.join(SCHEMES)})")
    host = (parts.hostname or "").lower()
    if not host:
        raise DataError("no host")
    if not _valid_host(host, bracketed="[" in parts.netloc.rpartition("@")[2]):
        raise DataError(f"invalid host {host[:80]!r}")
    if port is None:
        raise DataError("no port")
    if port < 1:
        raise DataError("port 0 out of range 1-65535")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise DataError("a proxy address has no path, query or fragment")
    code = country.strip().lower() if country else None
    if code is not None and not _COUNTRY.match(code):
        raise DataError(f"invalid country code {country!r} (two letters, e.g. de)")
    username = unquote(parts.username) if parts.username else None
    password = SecretStr(unquote(parts.password)) if parts.password is not None else None
    return Proxy(
        scheme=scheme,
        host=host,
        port=port,
        username=username,
        password=password,
        country=code,
        source=source,
        tags=tags,
    )


def _valid_host(host: str, *, bracketed: bool) -> bool:
    """A hostname, an IPv4 address, or (in brackets, and only there) an IPv6 address."""
    if bracketed:  # "[v1.fe]" is an IPvFuture literal, "[1.2.3.4]" no IPv6 address: refused
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return False
        return "%" not in host  # no zone index: it means nothing beyond this machine
    if not host.isascii() or not _HOST.match(host) or len(host) > 253:
        return False
    if host.rpartition(".")[2].isdigit():  # all-numeric last label: an IPv4 address or nothing
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return False
    return True


def _port_problem(message: str) -> str:
    if "out of range" in message:
        return "port out of range 1-65535"
    return "invalid port"
