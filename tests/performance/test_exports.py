"""The public surface of opslib.performance."""

from __future__ import annotations

import opslib.performance


def test_all_is_sorted_and_resolves() -> None:
    names = opslib.performance.__all__
    assert names == sorted(names)
    assert all(hasattr(opslib.performance, name) for name in names)
    assert not [n for n in names if n.startswith("_")]
    assert set(names) == {"RateQuery", "processing_rate", "queue_size"}
