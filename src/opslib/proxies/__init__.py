"""The proxy pool: performance figures (the pool library itself grows here)."""

from opslib.proxies._performance import ProxyStats, proxy_performance, proxy_stats

__all__ = ["ProxyStats", "proxy_performance", "proxy_stats"]
