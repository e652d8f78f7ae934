"""What one backup holds: the manifest, its files and the checksum list covering all of them."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from opslib.errors import DataError

__all__ = [
    "CONFIG_FILE",
    "DUMP_FILE",
    "MANIFEST_FILE",
    "SUMS_FILE",
    "BackupKind",
    "FileEntry",
    "Manifest",
    "read_manifest",
    "read_sums",
    "sha256_file",
    "write_durably",
]

DUMP_FILE = "db.dump"
CONFIG_FILE = "config.tar.gz"
MANIFEST_FILE = "manifest.json"
SUMS_FILE = "SHA256SUMS"
_CHUNK = 1 << 20

BackupKind = Literal["regular", "emergency"]
"""A regular backup, or an emergency one (fastest compression, exempt from pruning for a while)."""


class FileEntry(BaseModel):
    """Size and SHA-256 of one file of a backup."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    bytes: int
    sha256: str


class Manifest(BaseModel):
    """Written last into a backup; never holds the DSN or its password."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal[1] = 1
    name: str
    kind: BackupKind
    created_at: datetime
    database: str
    server_version: str
    files: tuple[FileEntry, ...]
    row_counts: dict[str, int]  # platform table, by its configured name -> rows
    newest_checked_at: datetime | None
    config_paths: tuple[str, ...] = ()

    def file(self, name: str) -> FileEntry:
        for entry in self.files:
            if entry.name == name:
                return entry
        raise DataError(f"manifest of {self.name} lists no {name}")


def sha256_file(path: Path) -> tuple[int, str]:
    """Size and SHA-256 of ``path``, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def write_durably(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (mode 0600: a backup is for its owner only) and fsync it."""
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as fh:
        os.fchmod(fh.fileno(), 0o600)
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def read_manifest(folder: Path) -> Manifest:
    """The manifest of the backup in ``folder``; DataError if missing or malformed."""
    path = folder / MANIFEST_FILE
    try:
        return Manifest.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise DataError(f"{folder.name}: no {MANIFEST_FILE}") from None
    except (OSError, ValidationError, UnicodeDecodeError) as exc:
        raise DataError(f"{folder.name}: {MANIFEST_FILE} unreadable: {_first_line(exc)}") from exc


def read_sums(folder: Path) -> dict[str, str]:
    """File name -> SHA-256 from the backup's ``SHA256SUMS`` (sha256sum format)."""
    try:
        text = (folder / SUMS_FILE).read_text(encoding="ascii")
    except FileNotFoundError:
        raise DataError(f"{folder.name}: no {SUMS_FILE}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{folder.name}: {SUMS_FILE} unreadable: {_first_line(exc)}") from exc
    sums: dict[str, str] = {}
    for line in text.splitlines():
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise DataError(f"{folder.name}: {SUMS_FILE} has a malformed line")
        sums[name] = digest
    if format_sums(sums).decode() != text:  # e.g. a lost final newline: not what was written
        raise DataError(f"{folder.name}: {SUMS_FILE} is not in its written form")
    return sums


def format_sums(sums: dict[str, str]) -> bytes:
    return "".join(f"{digest}  {name}\n" for name, digest in sorted(sums.items())).encode()


def manifest_bytes(manifest: Manifest) -> bytes:
    return (json.dumps(manifest.model_dump(mode="json"), indent=2, sort_keys=True) + "\n").encode()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
