"""The verdict from probes alone: majorities decide, proxies are judged across sites."""

from __future__ import annotations

from opslib.results import Severity, Threshold
from opslib.sites import (
    Outcome,
    Probe,
    SiteReport,
    SiteTarget,
    SiteVerdict,
    Verdict,
    failing_proxies,
    judge,
    site_availability,
)

TARGET = SiteTarget("shop.test", "https://shop.test/product/1")
LATENCY = Threshold(warn=2000, unit="ms")
CERT = Threshold(warn=14, bad="below", unit="days")
P1, P2, P3 = "http://10.0.0.1:3128", "http://10.0.0.2:3128", "http://10.0.0.3:3128"


def _p(via: str | None, outcome: Outcome = Outcome.OK, stage: str = "http", **kw: object) -> Probe:
    fields: dict[str, object] = {"status": 200, "latency_ms": 100.0, **kw}
    return Probe(via, outcome, stage, "detail", **fields)  # type: ignore[arg-type]


def _judge(*probes: Probe, broken: frozenset[str] = frozenset()) -> SiteVerdict:
    return judge(TARGET, probes, broken, latency=LATENCY, cert_days=CERT)


def test_one_random_error_of_a_healthy_shop_does_not_decide() -> None:
    limited = _p(P1, Outcome.LIMITED, status=429, retry_after=30.0)
    assert _judge(_p(None), limited, _p(P2), _p(P3)).verdict is Verdict.UP
    assert _judge(_p(None), _p(P1, Outcome.ERROR, status=503), _p(P2), _p(P3)).verdict is (
        Verdict.UP
    )
    # ... a random 5xx directly, when every proxy got the page: up, noted
    up = _judge(_p(None, Outcome.ERROR, status=502), _p(P1), _p(P2), _p(P3))
    assert up.verdict is Verdict.UP
    assert up.notes


def test_rate_limited_by_half_or_more() -> None:
    limited = [_p(via, Outcome.LIMITED, status=429, retry_after=w) for via, w in ((P1, 1), (P2, 5))]
    verdict = _judge(_p(None), *limited, _p(P3))
    assert (verdict.verdict, verdict.retry_after) == (Verdict.RATE_LIMITED, 5)
    assert verdict.action == "opslib ratelimit set shop.test --rate 1/s"
    assert _judge(_p(None, Outcome.LIMITED, status=429)).verdict is Verdict.RATE_LIMITED


def test_down_and_up_through_proxies() -> None:
    down = _judge(_p(None, Outcome.UNREACHABLE, "connect", status=None), _p(P1, Outcome.ERROR))
    assert down.verdict is Verdict.DOWN
    assert down.severity is Severity.CRITICAL
    assert down.action == "opslib domains cooldown shop.test --for 30m"
    on_a_port = judge(
        SiteTarget("shop.test:8443", "https://shop.test:8443/"),
        [_p(None, Outcome.LIMITED, status=429)],
        frozenset(),
        latency=LATENCY,
        cert_days=CERT,
    )
    assert on_a_port.action == "opslib ratelimit set shop.test --rate 1/s"  # the host only


def test_blocking_needs_a_majority_of_the_usable_proxies() -> None:
    blocked = [_p(v, Outcome.BLOCKED, "content", status=403) for v in (P1, P2)]
    assert _judge(_p(None), *blocked, _p(P3)).verdict is Verdict.BLOCKING
    assert _judge(_p(None), blocked[0], _p(P2), _p(P3)).verdict is Verdict.UP
    # a proxy that is broken for every site does not count as the site's refusal
    assert _judge(_p(None), *blocked, _p(P3), broken=frozenset({P1})).verdict is Verdict.UP


def test_proxies_failing_when_half_are_unusable() -> None:
    failed = _p(P1, Outcome.PROXY_FAILED, "proxy", status=None)
    verdict = _judge(
        _p(None), failed, _p(P2, Outcome.UNREACHABLE, "proxy"), broken=frozenset({P1, P2})
    )
    assert verdict.verdict is Verdict.PROXIES_FAILING
    assert verdict.action == "opslib proxies test && opslib proxies rotate"


def test_slow_and_certificate() -> None:
    slow = _judge(_p(None, latency_ms=2500.0), _p(P1))
    assert (slow.verdict, slow.severity) == (Verdict.SLOW, Severity.WARNING)
    ending = _judge(_p(None, cert_days_left=3.0))
    assert (ending.verdict, ending.severity) == (Verdict.UP, Severity.WARNING)


def test_a_crashed_probe_is_unknown() -> None:
    verdict = _judge(_p(None), _p(P1, Outcome.UNREACHABLE, "error", status=None))
    assert (verdict.verdict, verdict.severity) == (Verdict.UNKNOWN, Severity.UNKNOWN)


def test_failing_proxies_across_sites() -> None:
    unreachable = _p(P1, Outcome.UNREACHABLE, "proxy", status=None)
    probes = {
        "a.test": [_p(None), unreachable, _p(P2)],
        "b.test": [_p(None), unreachable, _p(P2)],
        "c.test": [_p(None, Outcome.UNREACHABLE, "connect"), _p(P1), _p(P3, Outcome.PROXY_FAILED)],
    }
    assert failing_proxies(probes) == {P1, P3}
    # one site only: not reaching it through a proxy is that site's refusal, not the proxy's
    assert failing_proxies({"a.test": probes["a.test"]}) == frozenset()


def test_site_availability_as_a_check() -> None:
    up = _judge(_p(None), _p(P1))
    down = judge(
        SiteTarget("gone.test", "https://gone.test/"),
        [_p(None, Outcome.UNREACHABLE, "connect", status=None)],
        frozenset(),
        latency=LATENCY,
        cert_days=CERT,
    )
    result = site_availability(SiteReport((up, down), (P1,)))
    assert result.severity is Severity.CRITICAL
    assert [m.severity for m in result.measurements] == [Severity.OK, Severity.CRITICAL]
    assert result.remediation == "gone.test: opslib domains cooldown gone.test --for 30m"
    assert result.tables[0].rows[1][:2] == ("gone.test", "down")
    assert "down: connect" in result.message()
    assert site_availability(SiteReport(())).severity is Severity.UNKNOWN
