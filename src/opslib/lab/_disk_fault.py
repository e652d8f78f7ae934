"""Lab fault ``disk-filling``: the database and backup volumes are made nearly full, through
settings.

The lab's database shares the machine's disk, which no lab fills in seconds; so the fault
declares the volume 3 % larger than the database (``capacity.database_volume_bytes`` in the
lab's config, the setting a platform whose database is not local sets). The capacity forecast
then crosses it within days and ``monthly.capacity`` turns red. The backup volume is declared
3 % larger than what the backup directory holds (``capacity.backup_volume_bytes``), so the
retention policy's next backups do not fit (the backup-policy check fires once a backup exists).
``heal`` removes both lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from opslib.adapters import Database
from opslib.capacity._sources import directory_volume
from opslib.config import load_settings
from opslib.errors import LabError
from opslib.lab._control import FaultRecord
from opslib.lab._paths import LabPaths
from opslib.lab._settings import LabSettings

__all__ = ["HEADROOM_SHARE", "fill_disk", "free_disk"]

HEADROOM_SHARE = 0.03
_MARK = "# lab fault disk-filling"


class _Host(Protocol):
    @property
    def settings(self) -> LabSettings: ...

    def database(self) -> Database: ...


def _config(host: _Host) -> Path:
    path = LabPaths(host.settings.state_dir).config
    if not path.is_file():
        raise LabError(f"the lab's config {path} does not exist: run `opslib lab up`")
    return path


def _without_mark(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if _MARK not in line)


def fill_disk(host: _Host, _target: str | None) -> str:
    """Declare the database volume 3 % larger than the database now."""
    path = _config(host)
    with host.database() as db:
        row = db.fetch_one("SELECT pg_database_size(current_database()) AS bytes")
    size = int(row["bytes"]) if row else 0
    volume = int(size * (1 + HEADROOM_SHARE))
    text = _without_mark(path.read_text())
    if "[capacity]" not in text:
        raise LabError(f"{path} has no [capacity] table: restart the lab (`opslib lab up`)")
    backup_dir = load_settings(path).backups.backup_dir
    held = directory_volume("backup volume", backup_dir, None).used_by_data
    backups = max(int(held * (1 + HEADROOM_SHARE)), 2**20)
    # [capacity] is the config's last table: a key appended at the end belongs to it.
    path.write_text(
        text.rstrip("\n")
        + f"\ndatabase_volume_bytes = {volume}  {_MARK}"
        + f"\nbackup_volume_bytes = {backups}  {_MARK}\n"
    )
    return (
        f"disk-filling: the database volume is now {volume / 2**20:.0f} MiB"
        f" (capacity.database_volume_bytes), {HEADROOM_SHARE:.0%} above the database's"
        f" {size / 2**20:.0f} MiB, and the backup volume {backups / 2**20:.0f} MiB"
        " (capacity.backup_volume_bytes): the capacity forecast fills them within days"
    )


def free_disk(host: _Host, _record: FaultRecord) -> str:
    """Remove the declared volume size."""
    path = _config(host)
    path.write_text(_without_mark(path.read_text()))
    return "disk-filling: the database and backup volumes are the disk's again"
