"""The baseline of ``--new``: the templates of a past run, as versioned JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from opslib._files import write_atomic
from opslib.errors import InputError
from opslib.logs._mask import WILDCARD
from opslib.logs._miner import OTHER_ID, Pattern

__all__ = ["load_baseline", "new_patterns", "save_baseline"]

_SCHEMA_VERSION = 1


def save_baseline(patterns: Iterable[Pattern], path: Path) -> Path:
    """Write the templates of ``patterns`` to ``path`` atomically (a temporary file renamed)."""
    document = {
        "schema_version": _SCHEMA_VERSION,
        "saved_at": datetime.now(UTC).isoformat(),
        "templates": sorted({p.template for p in patterns if p.id != OTHER_ID}),
    }
    write_atomic(path, json.dumps(document, indent=1))
    return path


def load_baseline(path: Path) -> list[str]:
    """The templates stored at ``path``; InputError when it is missing or not a baseline."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"no log baseline at {path} (write one with --save-baseline)") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"cannot read the log baseline {path}: {exc}") from exc
    if not isinstance(document, dict) or document.get("schema_version") != _SCHEMA_VERSION:
        raise InputError(f"{path} is not a log baseline of schema version {_SCHEMA_VERSION}")
    templates = document.get("templates")
    if not isinstance(templates, list) or not all(isinstance(t, str) for t in templates):
        raise InputError(f"{path}: 'templates' is not a list of strings")
    return templates


def new_patterns(patterns: Iterable[Pattern], baseline: Sequence[str]) -> list[Pattern]:
    """The patterns no baseline template covers: same length, and equal wherever neither has
    ``<*>``, on at least half of the positions."""
    known = [t.split() for t in baseline]
    by_length: dict[int, list[list[str]]] = {}
    for tokens in known:
        by_length.setdefault(len(tokens), []).append(tokens)
    return [
        p
        for p in patterns
        if p.id != OTHER_ID
        and not _covered(p.template.split(), by_length.get(len(p.template.split()), []))
    ]


def _covered(tokens: list[str], candidates: list[list[str]]) -> bool:
    for known in candidates:
        equal = 0
        for a, b in zip(tokens, known, strict=True):
            if a == b:
                equal += 1
            elif WILDCARD not in (a, b):
                break
        else:
            if equal * 2 >= len(tokens):
                return True
    return False
