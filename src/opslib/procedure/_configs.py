"""Installing a config set into ``backups.config_paths``: validated first, the previous set kept.

A config set is a folder holding the new version of each configured file under the same base
name. Every file is checked before any is installed (readable UTF-8; TOML and JSON must parse);
the current files are copied to a ``previous`` folder once (a resumed run keeps the first copy,
the true previous set); each file is then replaced atomically (temporary name, fsync, rename).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from opslib._files import write_atomic
from opslib.errors import InputError

__all__ = ["ConfigChange", "install_config_set", "plan_config_set", "rollback_config_set"]


@dataclass(frozen=True)
class ConfigChange:
    """One configured file and its replacement in the set."""

    target: Path
    source: Path
    changed: bool


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else ""


def _validate(source: Path) -> None:
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"config set: {source} cannot be read as UTF-8 text: {exc}") from exc
    try:
        if source.suffix == ".toml":
            tomllib.loads(text)
        elif source.suffix == ".json":
            json.loads(text)
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        raise InputError(f"config set: {source} does not parse: {exc}") from exc


def plan_config_set(folder: Path, targets: Sequence[Path]) -> list[ConfigChange]:
    """Check the set in ``folder`` against the configured ``targets``; raise InputError with one
    line for the first problem (a missing file, one that does not parse)."""
    if not folder.is_dir():
        raise InputError(f"config set {folder} is not a directory")
    if not targets:
        raise InputError("config set given, but backups.config_paths names no file to update")
    changes = []
    for target in targets:
        if target.is_dir():
            raise InputError(f"config path {target} is a directory: the set replaces files only")
        source = folder / target.name
        if not source.is_file():
            raise InputError(f"config set {folder} has no {target.name} (for {target})")
        _validate(source)
        changes.append(ConfigChange(target, source, _digest(source) != _digest(target)))
    return changes


def install_config_set(folder: Path, targets: Sequence[Path], previous: Path) -> list[ConfigChange]:
    """Validate, keep the current files in ``previous`` (once), install the set; return the
    changes (``changed`` false for a file already as the set has it)."""
    changes = plan_config_set(folder, targets)
    if not (previous / ".complete").exists():
        shutil.rmtree(previous, ignore_errors=True)
        previous.mkdir(parents=True, mode=0o700)
        for change in changes:
            if change.target.exists():
                shutil.copy2(change.target, previous / change.target.name)
        (previous / ".complete").touch()
    for change in changes:
        if change.changed:
            mode = change.target.stat().st_mode & 0o777 if change.target.exists() else 0o600
            write_atomic(change.target, change.source.read_bytes(), mode=mode, mkdir=False)
    return changes


def rollback_config_set(previous: Path, targets: Sequence[Path]) -> list[Path]:
    """Put back the files kept in ``previous``; return those restored."""
    if not (previous / ".complete").exists():
        raise InputError(f"{previous} holds no complete previous config set")
    restored = []
    for target in targets:
        kept = previous / target.name
        if kept.is_file():
            write_atomic(target, kept.read_bytes(), mode=kept.stat().st_mode & 0o777, mkdir=False)
            restored.append(target)
    return restored


def installed(changes: Sequence[ConfigChange]) -> list[Path]:
    """The targets that do not match their source (empty when the set is in place)."""
    return [c.target for c in changes if _digest(c.source) != _digest(c.target)]
