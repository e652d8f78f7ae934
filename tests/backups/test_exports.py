"""The public surface of opslib.backups."""

from __future__ import annotations

import opslib.backups


def test_all_is_sorted_and_resolves() -> None:
    names = opslib.backups.__all__
    assert names == sorted(names)
    assert all(hasattr(opslib.backups, name) for name in names)
    assert {"create_backup", "check_integrity", "Catalog", "Manifest"} <= set(names)
    assert not [n for n in names if n.startswith("_")]
