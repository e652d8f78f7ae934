"""The proxy pool: the scrapers' rotation library, its tests, imports, rotation and checks."""

from opslib.proxies._checks import (
    ban_rate,
    country_distribution,
    healthy_proxies,
    leaking_proxies,
    pool_latency,
)
from opslib.proxies._importer import (
    ImportResult,
    LineProblem,
    list_source_name,
    parse_proxy_lines,
    read_lines,
    read_proxy_list,
)
from opslib.proxies._judges import LEAK_HEADERS, JudgeAnswer, JudgeBaseline, read_judge_answer
from opslib.proxies._model import SCHEMES, Proxy, ProxyState, parse_proxy_url
from opslib.proxies._performance import (
    ProxySource,
    ProxyStats,
    pool_proxy_stats,
    proxy_performance,
    proxy_stats,
)
from opslib.proxies._policy import ANY_COUNTRY, PolicyPlan, apply_policy, plan_policy
from opslib.proxies._pool import DomainPolicy, Lease, Outcome, PoolProxy, ProxyPool
from opslib.proxies._probing import ProbeRun, proxies_to_test, run_probes
from opslib.proxies._resealing import Resealing, reseal_passwords
from opslib.proxies._rotation import RotationPlan, apply_rotation, plan_rotation
from opslib.proxies._sample import sample_health
from opslib.proxies._sealing import SEALED_PREFIX, PasswordSealer
from opslib.proxies._tester import ProbeResult, probe_proxies
from opslib.proxies._update import ImportOutcome, ImportPlan, apply_import, plan_import

__all__ = [
    "ANY_COUNTRY",
    "LEAK_HEADERS",
    "SCHEMES",
    "SEALED_PREFIX",
    "DomainPolicy",
    "ImportOutcome",
    "ImportPlan",
    "ImportResult",
    "JudgeAnswer",
    "JudgeBaseline",
    "Lease",
    "LineProblem",
    "Outcome",
    "PasswordSealer",
    "PolicyPlan",
    "PoolProxy",
    "ProbeResult",
    "ProbeRun",
    "Proxy",
    "ProxyPool",
    "ProxySource",
    "ProxyState",
    "ProxyStats",
    "Resealing",
    "RotationPlan",
    "apply_import",
    "apply_policy",
    "apply_rotation",
    "ban_rate",
    "country_distribution",
    "healthy_proxies",
    "leaking_proxies",
    "list_source_name",
    "parse_proxy_lines",
    "parse_proxy_url",
    "plan_import",
    "plan_policy",
    "plan_rotation",
    "pool_latency",
    "pool_proxy_stats",
    "probe_proxies",
    "proxies_to_test",
    "proxy_performance",
    "proxy_stats",
    "read_judge_answer",
    "read_lines",
    "read_proxy_list",
    "reseal_passwords",
    "run_probes",
    "sample_health",
]
