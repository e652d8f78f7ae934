"""Reading a judge's answer: which address the request came from, and what headers it carried.

The format is told from the answer itself (content type and shape), so any common judge works:

- **opslib** (the lab's ``/judge``): JSON ``{"client_ip": "1.2.3.4", "headers": {...}}``.
- **httpbin** (``/get``, ``/headers``, ``/ip``): JSON with ``origin`` (``"1.2.3.4"``, or
  ``"1.2.3.4, 5.6.7.8"`` when a hop added X-Forwarded-For) and/or ``headers``. httpbin hides
  X-Forwarded-For and Via from ``headers`` (``?show_env=1`` shows them); ``origin`` still names
  every address.
- **header echo** (azenv-style, text or HTML): one ``NAME = value`` per line as PHP's
  ``$_SERVER`` prints it (``REMOTE_ADDR = 1.2.3.4``, ``HTTP_X_FORWARDED_FOR = ...``), or
  ``Header-Name: value`` lines; recognised when it echoes Host, User-Agent or REMOTE_ADDR.
"""

from __future__ import annotations

import html
import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import Any

from opslib.errors import DataError

__all__ = ["LEAK_HEADERS", "JudgeAnswer", "JudgeBaseline", "read_judge_answer"]

LEAK_HEADERS = (
    "client-ip",
    "forwarded",
    "forwarded-for",
    "via",
    "x-client-ip",
    "x-cluster-client-ip",
    "x-forwarded",
    "x-forwarded-for",
    "x-originating-ip",
    "x-real-ip",
)
"""Request headers through which a proxy can give the client away (Via: that a proxy is used)."""

_ENV_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)\s*=\s*(.*)$")
_HEADER_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*):\s*(.*)$")
_TAG = re.compile(r"<[^>]*>")
_ADDRESS_PART = re.compile(r"[0-9A-Fa-f:.]+")
_EVERY_REQUEST = frozenset({"host", "user-agent", "remote-addr"})
_UNKNOWN = (
    "judge answer not understood ({kind}): not opslib's JSON, httpbin's JSON or a header echo"
)


@dataclass(frozen=True)
class JudgeAnswer:
    """What a judge saw: ``origin`` the addresses it names as the request's source (the last
    one is where the connection came from), ``headers`` the request headers it echoed (names
    lowercased)."""

    format: str
    origin: tuple[str, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)

    def forwarded(self, name: str | None = None) -> list[str]:
        """Addresses in the forwarding headers (``LEAK_HEADERS``, or only ``name``), in order."""
        names = LEAK_HEADERS if name is None else (name,)
        return [ip for h in names for ip in _addresses(self.headers.get(h, ""))]


@dataclass(frozen=True)
class JudgeBaseline:
    """What the judge sees of us without a proxy: ``own_ips`` (``None`` when the judge could
    not be asked directly), and whether a reverse proxy in front of it names the connecting
    address in X-Forwarded-For / X-Real-IP (``fronted``: its own address is the origin)."""

    own_ips: frozenset[str] | None = None
    fronted: bool = False

    @classmethod
    def learn(cls, direct: JudgeAnswer | None, also: frozenset[str] = frozenset()) -> JudgeBaseline:
        """The baseline from a direct answer (``None``: none came), plus addresses ``also``
        known to be ours (loopback for a judge on this machine)."""
        if direct is None:
            return cls(also or None)
        forwarded = direct.forwarded()
        if forwarded:
            return cls(frozenset({*forwarded, *also}), fronted=True)
        return cls(frozenset({*direct.origin, *also}))

    def exit_ip(self, answer: JudgeAnswer) -> str | None:
        """The proxy's address as the judge saw it; ``None`` when the judge does not say."""
        if self.fronted:
            named = answer.forwarded("x-forwarded-for")[-1:] or answer.forwarded("x-real-ip")
            if named:
                return named[-1]
        return answer.origin[-1] if answer.origin else None

    def leaks(self, answer: JudgeAnswer) -> bool:
        """Whether the client shows through: a Via header, or one of our addresses in the
        origin or a forwarding header (without a baseline: any forwarded address other than
        the exit IP)."""
        if "via" in answer.headers:
            return True
        seen = {*answer.origin, *answer.forwarded()}
        if self.own_ips is not None:
            return bool(seen & self.own_ips)
        return bool(seen - {self.exit_ip(answer)})


def read_judge_answer(content_type: str, body: bytes) -> JudgeAnswer:
    """The judge's answer in any known format; :class:`DataError` with a one-line reason when
    it is none of them."""
    kind = content_type.partition(";")[0].strip().lower() or "no content type"
    text = body.decode("utf-8", "replace").strip()
    if "json" in kind or text.startswith("{"):
        return _from_json(text, kind)
    echoed = _echoed(text, html_page="html" in kind)
    if not echoed.keys() & _EVERY_REQUEST:
        raise DataError(_UNKNOWN.format(kind=f"{kind}, {len(body)} bytes"))
    remote = echoed.pop("remote-addr", "")
    return JudgeAnswer("header echo", tuple(_addresses(remote))[:1], echoed)


def _from_json(text: str, kind: str) -> JudgeAnswer:
    try:
        item = json.loads(text)
    except (ValueError, RecursionError):
        raise DataError(f"judge answer is not valid JSON ({kind})") from None
    if not isinstance(item, dict):
        raise DataError(_UNKNOWN.format(kind="JSON that is not an object"))
    headers = _header_map(item.get("headers", {}))
    if isinstance(item.get("client_ip"), str):
        return JudgeAnswer("opslib", (item["client_ip"].strip(),), headers)
    if isinstance(item.get("origin"), str) or "headers" in item:
        origin = tuple(a.strip() for a in str(item.get("origin", "")).split(",") if a.strip())
        return JudgeAnswer("httpbin", origin, headers)
    raise DataError(_UNKNOWN.format(kind="JSON without client_ip, origin or headers"))


def _header_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise DataError("judge answer's headers are not an object")
    return {str(k).lower(): str(v) for k, v in value.items()}


def _echoed(text: str, *, html_page: bool) -> dict[str, str]:
    """Request headers from an echo page, names normalised (``HTTP_X_REAL_IP`` -> x-real-ip)."""
    if html_page:
        text = html.unescape(_TAG.sub("\n", text))
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = _ENV_LINE.match(line.strip()) or _HEADER_LINE.match(line.strip())
        if match is None:
            continue
        name = match[1].lower().removeprefix("http_").replace("_", "-")
        found.setdefault(name, match[2].strip())
    return found


def _addresses(value: str) -> list[str]:
    """IP addresses in a header value (``1.2.3.4, 5.6.7.8``, ``for="[2001:db8::1]:80"``)."""
    found = []
    for part in _ADDRESS_PART.findall(value):
        for candidate in (part, part.rpartition(":")[0]):
            try:
                found.append(str(ipaddress.ip_address(candidate)))
            except ValueError:
                continue
            break
    return found
