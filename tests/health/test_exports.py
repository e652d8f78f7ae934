"""The public surface of opslib.health."""

from __future__ import annotations

import opslib.health


def test_all_is_sorted_and_resolves() -> None:
    names = opslib.health.__all__
    assert names == sorted(names)
    assert all(hasattr(opslib.health, name) for name in names)
    assert not [n for n in names if n.startswith("_")]
    assert set(names) == {
        "ContainerSource",
        "MetricQuery",
        "UsageSource",
        "error_rate",
        "resource_usage",
        "restart_trend",
        "service_status",
    }
