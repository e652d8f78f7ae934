"""``integrity``: checksums recomputed, the dump read to its end, the tarball read."""

from __future__ import annotations

import tarfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

from opslib.backups._catalog import BackupRecord
from opslib.backups._manifest import (
    CONFIG_FILE,
    DUMP_FILE,
    MANIFEST_FILE,
    SUMS_FILE,
    read_manifest,
    read_sums,
    sha256_file,
)
from opslib.backups._tools import PgTools, read_archive
from opslib.errors import DataError

__all__ = ["IntegrityReport", "check_integrity"]

_CHUNK = 1 << 20


@dataclass(frozen=True)
class IntegrityReport:
    """What was found wrong with one backup (nothing: intact) and how many bytes were read."""

    name: str
    problems: tuple[str, ...]
    bytes_read: int
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.problems


def check_integrity(
    folder: Path, tools: PgTools, record: BackupRecord | None = None
) -> IntegrityReport:
    """Check the backup in ``folder`` end to end; ``record`` (its catalogue row) adds a check.

    Every file's SHA-256 against ``SHA256SUMS`` (which covers the manifest) and the manifest;
    the dump read as a restore reads it (``pg_restore --file=/dev/null``: every data block
    decompressed, no database needed); the tarball decompressed and read to its end. A flipped
    bit or a truncation anywhere shows up as at least one problem, even when the checksums were
    rewritten to match. What it cannot prove (the rows restore, the counts match the manifest)
    is what ``verify`` does.
    """
    started = time.monotonic()
    problems: list[str] = []
    read = 0
    sums: dict[str, str] | None
    try:
        sums = read_sums(folder)
    except DataError as exc:
        problems.append(str(exc))
        sums = None
    actual: dict[str, str] = {}
    for name in (DUMP_FILE, CONFIG_FILE, MANIFEST_FILE):
        path = folder / name
        try:
            size, digest = sha256_file(path)
        except OSError as exc:
            problems.append(f"{name}: unreadable: {exc.strerror or exc}")
            continue
        read += size
        actual[name] = digest
        if sums is not None and sums.get(name) != digest:
            problems.append(f"{name}: SHA-256 differs from {SUMS_FILE}")
    if sums is not None and set(sums) != {DUMP_FILE, CONFIG_FILE, MANIFEST_FILE}:
        problems.append(f"{SUMS_FILE}: lists other files than the backup holds")
    problems += _check_manifest(folder, actual)
    if record is not None and record.manifest_sha256 not in (None, actual.get(MANIFEST_FILE)):
        problems.append(f"{MANIFEST_FILE}: SHA-256 differs from the catalogue")
    if DUMP_FILE in actual:
        error = read_archive(tools, folder / DUMP_FILE)
        problems += [error] if error else []
    if CONFIG_FILE in actual:
        problems += _read_tarball(folder / CONFIG_FILE)
    return IntegrityReport(folder.name, tuple(problems), read, time.monotonic() - started)


def _check_manifest(folder: Path, actual: dict[str, str]) -> list[str]:
    try:
        manifest = read_manifest(folder)
    except DataError as exc:
        return [str(exc)]
    problems = [
        f"{entry.name}: SHA-256 differs from the manifest"
        for entry in manifest.files
        if entry.name in actual and actual[entry.name] != entry.sha256
    ]
    if manifest.name != folder.name:
        problems.append(f"{MANIFEST_FILE}: names another backup ({manifest.name})")
    return problems


def _read_tarball(path: Path) -> list[str]:
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                handle = tar.extractfile(member)
                if handle is not None:
                    while handle.read(_CHUNK):
                        pass
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        return [f"{CONFIG_FILE}: unreadable tarball: {exc}"]
    return []
