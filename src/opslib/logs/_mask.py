"""Masking the variable parts of a message and finding the domains a line names.

One pass of one regex, in C: URLs, e-mail addresses, paths, anything with a digit in it
(numbers, hex and UUIDs, IPs and ``IP:port``, times, ``blk_-42``) and undecodable bytes
become ``<*>``. Brackets, ``=``, ``:``, quotes and commas delimit: ``uid=0`` keeps
``uid=``, ``onExtend:1514038530000`` keeps ``onExtend:``, ``[10.0.0.1]`` its brackets, so
templates read like the code that logged them.
"""

from __future__ import annotations

import re

__all__ = ["WILDCARD", "domains_in", "mask"]

WILDCARD = "<*>"
"""What a variable part of a template reads as."""

_PART = r"[^\s\[\](){}<>\"'=,;:]"  # a character of a variable part; the others delimit
_WORD = r"[^\s\[\](){}<>\"'=,;]"  # a character of a URL, path or address (":" too)
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*"
_DATE_TIME = (  # one variable, not five: "Sun Jul 10 03:55:22 2005", "2005-07-10 03:55:22,123"
    rf"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? +)?{_MONTH} +\d{{1,2}},? +(?:\d{{4}} +)?"
    r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?(?: +\d{4}(?!\d))?"
    r"|\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"
)
_VARIABLE = re.compile(
    rf"(?<!{_PART})(?:{_DATE_TIME}"
    rf"|(?={_WORD}*[\d\ufffd/@])(?:"  # at a part's start, if it may be variable
    r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>]+"  # URLs
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # e-mail addresses
    r"|(?:~|\.{1,2})?/[^\s\"'<>;,=]*/[^\s\"'<>;,=]*"  # paths with two slashes
    rf"|{_PART}*[\d\ufffd]{_PART}*"  # anything with a digit (or an undecodable byte)
    r"))"
)
_DOMAINS = re.compile(
    r"[a-zA-Z][a-zA-Z0-9+.-]*://(?:[^\s/@\"'<>]*@)?(?P<url>[A-Za-z0-9.-]+)"
    r"|\bdomain=[\"']?(?P<field>[A-Za-z0-9.-]+)"
)
_HOST = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def mask(message: str) -> str:
    """``message`` with its variable parts replaced by ``<*>``."""
    return _VARIABLE.sub(WILDCARD, message)


def domains_in(line: str) -> list[str]:
    """Host names in URLs and ``domain=`` fields of ``line``, lower case (not IP addresses)."""
    if "://" not in line and "domain=" not in line:
        return []
    found = []
    for match in _DOMAINS.finditer(line):
        host = (match["url"] or match["field"] or "").strip(".").lower()
        if _HOST.fullmatch(host):
            found.append(host)
    return found
