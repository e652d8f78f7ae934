"""The public surface of opslib.proxies."""

from __future__ import annotations

import opslib.proxies


def test_all_is_sorted_and_complete() -> None:
    exported = opslib.proxies.__all__
    assert exported == sorted(exported, key=lambda n: (not n.isupper(), n))
    assert {"ProxyPool", "Lease", "Outcome", "Proxy", "ProxyState"} <= set(exported)
    assert {
        "ImportOutcome", "ImportPlan", "PolicyPlan", "ProbeRun", "apply_import", "apply_policy",
        "plan_import", "plan_policy", "proxies_to_test", "read_proxy_list", "run_probes",
    } <= set(exported)  # fmt: skip
    for name in exported:
        assert getattr(opslib.proxies, name) is not None
