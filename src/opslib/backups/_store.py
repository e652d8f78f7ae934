"""The backup directory: complete backups, leftovers of interrupted writes, the writer's lock."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

from opslib.backups._manifest import MANIFEST_FILE, SUMS_FILE
from opslib.errors import ConfigError, UnsafeActionError

__all__ = [
    "NAME_PATTERN",
    "TEMP_PREFIX",
    "check_writable",
    "complete_names",
    "fsync_dir",
    "leftovers",
    "remove_tree",
    "writer_lock",
]

NAME_PATTERN = re.compile(r"^\d{8}T\d{6}Z-(regular|emergency)-[0-9a-f]{6}$")
TEMP_PREFIX = ".tmp-"
_DELETING_PREFIX = ".del-"
_LOCK_FILE = ".lock"


def check_writable(folder: Path) -> None:
    """One clear line when ``folder`` is missing, not a directory or not writable."""
    if not folder.exists():
        raise ConfigError(f"backup directory {folder} does not exist")
    if not folder.is_dir():
        raise ConfigError(f"backup directory {folder} is not a directory")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"backup directory {folder} is not writable")


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def complete_names(folder: Path) -> list[str]:
    """Names of the backups on disk: renamed into place, so complete by construction."""
    if not folder.is_dir():
        return []
    return sorted(
        p.name
        for p in folder.iterdir()
        if NAME_PATTERN.match(p.name) and p.is_dir() and (p / MANIFEST_FILE).exists()
    )


def unknown_entries(folder: Path) -> list[str]:
    """Entries that are neither backups, nor leftovers, nor the lock: reported, never touched."""
    if not folder.is_dir():
        return []
    known = set(complete_names(folder))
    return sorted(
        p.name
        for p in folder.iterdir()
        if p.name not in known
        and p.name != _LOCK_FILE
        and not p.name.startswith((TEMP_PREFIX, _DELETING_PREFIX))
    )


def leftovers(folder: Path) -> list[Path]:
    """Temporary folders of writes or deletions that were interrupted."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.startswith((TEMP_PREFIX, _DELETING_PREFIX)))


def remove_tree(path: Path) -> None:
    """Delete a backup folder: first renamed aside (atomic), then removed."""
    aside = path.with_name(f"{_DELETING_PREFIX}{path.name}")
    path.rename(aside)
    fsync_dir(path.parent)
    shutil.rmtree(aside)


@contextlib.contextmanager
def writer_lock(folder: Path) -> Iterator[None]:
    """Only one writer (create, prune) per backup directory at a time; released if it dies."""
    path = folder / _LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise ConfigError(f"backup directory {folder}: cannot open lock: {exc.strerror}") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise UnsafeActionError(
                    f"another backup command is writing to {folder}; try again when it ends"
                ) from exc
            raise
        yield
    finally:
        os.close(fd)


def has_sums(folder: Path) -> bool:
    return (folder / SUMS_FILE).exists()
