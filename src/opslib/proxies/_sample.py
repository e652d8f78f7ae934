"""The high-error-rate emergency's proxy check: test a random sample of active proxies now."""

from __future__ import annotations

import random
from collections import Counter

from opslib.config import Settings
from opslib.errors import ConfigError
from opslib.proxies._model import ProxyState
from opslib.proxies._pool import ProxyPool
from opslib.proxies._probing import proxies_to_test, run_probes
from opslib.results import CheckResult, Measurement, Table

__all__ = ["sample_health"]

SOP = "emergency.high_error_rate"
_TITLE = "proxy health (a random sample, tested now)"
_REMEDY = (
    "proxy issues: quarantine the failing proxies and promote reserves (`opslib proxies rotate`);"
    " with too few reserves, load a fresh list (`opslib proxies update LIST`)"
)


def sample_health(
    pool: ProxyPool, settings: Settings, *, rng: random.Random | None = None
) -> CheckResult:
    """Test ``proxies.health_sample`` random active proxies against the judge (each within
    ``proxies.test_timeout``) and judge the failing share by ``proxies.sample_failing``.

    Nothing is recorded in the pool: ``opslib proxies health`` is the command that does.
    """
    sample = proxies_to_test(
        pool, (ProxyState.ACTIVE,), sample=settings.proxies.health_sample, rng=rng
    )
    if not sample:
        empty = Measurement(
            "healthy_count", 0, settings.threshold("proxies.healthy_count"), note="no active proxy"
        )
        return CheckResult(SOP, _TITLE, (empty,), remediation=_REMEDY)
    try:
        run = run_probes(sample, settings.proxies)
    except ConfigError as exc:  # no judge URL
        return CheckResult.unknown(SOP, _TITLE, f"{exc}: {'; '.join(exc.problems)}")
    failing = run.failing
    kinds = Counter(r.status if not r.ok else "leaking" for r in failing)
    note = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
    rows = tuple(
        (r.url, r.status, "-" if r.latency_ms is None else f"{r.latency_ms:.0f}", r.error or "-")
        for r in run.results
    )
    return CheckResult(
        SOP,
        _TITLE,
        (
            Measurement(
                "sample_failing",
                round(len(failing) / len(run.results), 3),
                settings.threshold("proxies.sample_failing"),
                note=f"{len(failing)} of {len(run.results)} failing or leaking"
                + (f" ({note})" if note else ""),
            ),
        ),
        remediation=_REMEDY,
        tables=(Table(("proxy", "status", "latency ms", "error"), rows, "the sample"),),
    )
