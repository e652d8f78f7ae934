"""The proxy pool: the scrapers' rotation library, its tests, imports, rotation and checks."""

from opslib.proxies._checks import (
    ban_rate,
    country_distribution,
    healthy_proxies,
    leaking_proxies,
    pool_latency,
)
from opslib.proxies._importer import ImportResult, LineProblem, parse_proxy_lines, read_lines
from opslib.proxies._model import SCHEMES, Proxy, ProxyState, parse_proxy_url
from opslib.proxies._performance import ProxyStats, proxy_performance, proxy_stats
from opslib.proxies._pool import DomainPolicy, Lease, Outcome, PoolProxy, ProxyPool
from opslib.proxies._rotation import RotationPlan, apply_rotation, plan_rotation
from opslib.proxies._tester import ProbeResult, probe_proxies

__all__ = [
    "SCHEMES",
    "DomainPolicy",
    "ImportResult",
    "Lease",
    "LineProblem",
    "Outcome",
    "PoolProxy",
    "ProbeResult",
    "Proxy",
    "ProxyPool",
    "ProxyState",
    "ProxyStats",
    "RotationPlan",
    "apply_rotation",
    "ban_rate",
    "country_distribution",
    "healthy_proxies",
    "leaking_proxies",
    "parse_proxy_lines",
    "parse_proxy_url",
    "plan_rotation",
    "pool_latency",
    "probe_proxies",
    "proxy_performance",
    "proxy_stats",
    "read_lines",
]
