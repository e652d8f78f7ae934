"""One line of a proxy list, in the shapes lists are published in.

A line is a proxy (returned), not a proxy at all (``None``: prose, a comment, a header, skipped
and counted), or a proxy that is broken (:class:`DataError` naming what is wrong, never the
password). Shapes, each optionally followed by more cells that are ignored:

- ``host:port``, ``scheme://[user:pass@]host:port``, ``user:pass@host:port``,
  ``host:port:user:pass``, ``host port`` (a table copied as text);
- free lists' ``IP:PORT CC-ANONYMITY-SSL +`` (``1.2.3.4:8080 US-H-S +``): the country from the
  code; checker output (``IP:PORT => success``, ``IP:PORT,OK,120ms``), whose verdict is ignored;
- ``url,country``; CSV under a header (``url|proxy|address`` or ``host|ip``, ``port``,
  ``scheme|protocol``, ``username``, ``password``, ``country_code|code|cc|country``, ``tags``,
  any other columns); JSON objects (``url`` or ``host``/``ip`` and ``port``, ``scheme``,
  ``username``, ``password``, ``country``, ``tags``).

A country is taken when it is a two-letter code (``de``, ``US-H-S``); a name is ignored.
"""

from __future__ import annotations

import csv
import json
import re
from typing import Any

from pydantic import SecretStr

from opslib.errors import DataError
from opslib.proxies._model import Proxy, parse_proxy_url

__all__ = ["parse_header", "parse_line"]

_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_IPV4ISH = re.compile(r"^\d+(?:\.\d+){3}$")  # 999.1.1.1 too: an address, if a broken one
_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$", re.IGNORECASE)
_CELLS = re.compile(r"[\s,]+")
_CODE = re.compile(r"^([a-z]{2})(?:-[a-z0-9!+-]*)?$", re.IGNORECASE)
_VERDICTS = frozenset({"ok"})  # two letters, but a checker's verdict, not a country

_URL_COLUMNS = ("url", "proxy", "address")
_HOST_COLUMNS = ("host", "ip", "ip_address", "ip address", "ipaddress", "server")
_SCHEME_COLUMNS = ("scheme", "protocol", "type")
_COUNTRY_COLUMNS = ("country_code", "countrycode", "code", "cc", "country")


def parse_header(text: str) -> list[str] | None:
    """The lowercased column names when ``text`` is a CSV header naming an address column."""
    if "," not in text:
        return None
    cells = [c.strip().lower() for c in text.split(",")]
    if not set(cells) & {*_URL_COLUMNS, *_HOST_COLUMNS}:
        return None
    try:
        return [c.strip().lower() for c in next(csv.reader([text]))]
    except (csv.Error, StopIteration):
        return None


def parse_line(text: str, header: list[str] | None, source: str) -> Proxy | None:
    """The proxy on one stripped, non-empty line; ``None`` when the line is no proxy."""
    if text.startswith("#"):
        return None
    if text.startswith("{"):
        return _from_json(text, source)
    if header is not None:
        return _from_csv(text, header, source)
    return _from_text(text, source)


def _looks_like_host(host: str) -> bool:
    """An address or a name a list would give (a dot, a digit, ``localhost``), not a word."""
    if _IPV4ISH.match(host) or ":" in host:
        return True
    if not _NAME.match(host) or host.isdigit():
        return False
    return "." in host or host.lower() == "localhost" or any(c.isdigit() for c in host)


def _country(cells: list[str], *, any_case: bool) -> str | None:
    """The first cell that is a country code: ``de`` (``any_case``), ``DE`` or ``US-H-S``."""
    for cell in cells:
        match = _CODE.match(cell)
        if match is None or match[1].lower() in _VERDICTS:
            continue
        if match[1].isupper() or (any_case and cell == match[1]):
            return match[1].lower()
    return None


def _from_text(text: str, source: str) -> Proxy | None:
    first, *rest = _CELLS.split(text)
    credentials: tuple[str, str] | None = None
    if _SCHEME.match(first) or first.startswith("["):
        address = first
    elif "@" in first:  # user:pass@host:port; "admin@example.com" is prose
        after = first.rpartition("@")[2]
        host = after.partition(":")[0]
        address = (
            first if after.startswith("[") or (":" in after and _looks_like_host(host)) else ""
        )
    elif ":" in first:
        host, port, *login = first.split(":", 3)
        if not _looks_like_host(host) or not (_IPV4ISH.match(host) or port.isdigit()):
            return None  # "Updated: today", "Total:many"
        if len(login) == 1:
            raise DataError("expected host:port or host:port:user:password")
        address = f"{host}:{port}"
        credentials = (login[0], login[1]) if login else None
    elif rest and rest[0].isdigit() and _looks_like_host(first):
        address = f"{first}:{rest.pop(0)}"  # host and port in cells of their own
    elif _IPV4ISH.match(first):
        raise DataError("no port")
    else:
        return None
    if not address:
        return None
    proxy = parse_proxy_url(address, country=_country(rest, any_case="," in text), source=source)
    if credentials is not None:
        proxy = _with_credentials(proxy, credentials[0], credentials[1])
    return proxy


def _with_credentials(proxy: Proxy, username: str | None, password: str | None) -> Proxy:
    if not username:
        if password:
            raise DataError("a password without a username")
        return proxy
    if proxy.username is not None:
        return proxy  # the URL's own credentials win
    secret = SecretStr(password) if password else None
    return proxy.model_copy(update={"username": username, "password": secret})


def _from_csv(text: str, header: list[str], source: str) -> Proxy | None:
    try:
        row = next(csv.reader([text]))
    except (csv.Error, StopIteration):
        raise DataError("not a CSV row") from None
    cells = dict(zip(header, (c.strip() for c in row), strict=False))
    address = next((cells[k] for k in _URL_COLUMNS if cells.get(k)), "")
    host = next((cells[k] for k in _HOST_COLUMNS if cells.get(k)), "")
    if not address and not host:
        return None
    if not (_SCHEME.match(address) or _looks_like_host(host or address.rpartition(":")[0])):
        return None  # a footer ("Total,3"), a second header
    if len(row) != len(header):
        raise DataError(f"{len(row)} columns, the header has {len(header)}")
    if not address:
        scheme = next((cells[k] for k in _SCHEME_COLUMNS if cells.get(k)), "http").lower()
        address = f"{scheme}://{_bracketed(host)}:{cells.get('port', '')}"
    tags = tuple(t for t in cells.get("tags", "").split(";") if t)
    country = _country([cells.get(k, "") for k in _COUNTRY_COLUMNS], any_case=True)
    proxy = parse_proxy_url(address, country=country, source=source, tags=tags)
    user = cells.get("username") or cells.get("user") or cells.get("login")
    return _with_credentials(proxy, user, cells.get("password") or cells.get("pass"))


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _from_json(text: str, source: str) -> Proxy:
    try:
        item = json.loads(text)
    except RecursionError:
        raise DataError("JSON nested too deeply") from None
    except ValueError:  # JSONDecodeError, and numbers too long to convert
        raise DataError("invalid JSON") from None
    if not isinstance(item, dict):
        raise DataError("a JSON line must be an object")
    address = _string(item, "url") or _string(item, "proxy")
    host = _string(item, "host") or _string(item, "ip")
    if not address and host:
        port = item.get("port")
        if isinstance(port, bool) or not isinstance(port, int | str):
            raise DataError("port must be a number")
        scheme = _string(item, "scheme") or _string(item, "protocol") or "http"
        address = f"{scheme}://{_bracketed(host)}:{port}"
    if not address:
        raise DataError("no url (or host and port) in the JSON object")
    tags = item.get("tags") or ()
    if not isinstance(tags, list | tuple) or not all(isinstance(t, str) for t in tags):
        raise DataError("tags must be a list of strings")
    country = _string(item, "country") or _string(item, "country_code")
    proxy = parse_proxy_url(
        address,
        country=_country([country], any_case=True) if country else None,
        source=source,
        tags=tuple(tags),
    )
    return _with_credentials(proxy, _string(item, "username"), _string(item, "password"))


def _string(item: dict[str, Any], key: str) -> str | None:
    """``item[key]`` when it is a string; ``None`` when absent or null; else a line problem."""
    value = item.get(key)
    if value is None or isinstance(value, str):
        return value
    raise DataError(f"{key} must be a string" + (" or null" if key == "password" else ""))
