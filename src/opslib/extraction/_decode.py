"""From the bytes a scraper fetched to text a parser can read: size, encoding, HTML or not."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

__all__ = ["MAX_PAGE_BYTES", "Decoded", "decode_page"]

MAX_PAGE_BYTES = 10 * 1024 * 1024
"""Pages are read up to this many bytes; the rest is cut off (bounded time and memory)."""

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# The charset an HTML page declares, looked for in its first bytes as browsers do (WHATWG
# prescan); an ASCII-compatible encoding is assumed for the scan.
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_HTML_MARK = re.compile(
    r"<\s*(!doctype\s+html|html|head|body|div|span|p|meta|title|script)\b", re.I
)


@dataclass(frozen=True)
class Decoded:
    """A page as text, the encoding it was read with, and what was wrong (None: nothing)."""

    text: str
    encoding: str
    truncated: bool
    problem: str | None = None


def _declared(head: bytes) -> str | None:
    found = _META_CHARSET.search(head)
    if found is None:
        return None
    name = found.group(1).decode("ascii", "replace").lower()
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    # A page served as UTF-16 cannot declare it in ASCII; browsers read such a claim as UTF-8.
    if codec.startswith("utf-16") or codec.startswith("utf-32"):
        return "utf-8"
    return "cp1252" if codec in ("latin-1", "iso8859-1", "ascii") else codec


def decode_page(page: str | bytes, max_bytes: int = MAX_PAGE_BYTES) -> Decoded:
    """Decode ``page`` (BOM, then the declared charset, then UTF-8, then cp1252)."""
    if isinstance(page, str):
        truncated = len(page) > max_bytes
        text = page[:max_bytes]
        encoding = "str"
    else:
        truncated = len(page) > max_bytes
        data = page[:max_bytes]
        encoding = next((enc for bom, enc in _BOMS if data.startswith(bom)), "") or (
            _declared(data[:4096]) or ""
        )
        if encoding:
            text = data.decode(encoding, "replace")
        else:
            try:
                text, encoding = data.decode("utf-8"), "utf-8"
            except UnicodeDecodeError as exc:
                if truncated and exc.start >= len(data) - 4:  # a character cut by the limit
                    text, encoding = data[: exc.start].decode("utf-8", "replace"), "utf-8"
                else:
                    text, encoding = data.decode("cp1252", "replace"), "cp1252"
        text = text.lstrip("\ufeff")
    problem = None
    if not text.strip():
        problem = "empty page"
    elif "\x00" in text[:4096]:
        problem = "not HTML (binary content)"
    elif _HTML_MARK.search(text[:65536]) is None:
        problem = "not HTML (no HTML markup)"
    return Decoded(text=text, encoding=encoding, truncated=truncated, problem=problem)
