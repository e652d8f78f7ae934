"""verify_sites against real servers on 127.0.0.1: every verdict from a real cause."""

from __future__ import annotations

import time
from pathlib import Path

from opslib.config import Settings, SiteSettings, ThresholdSpec, Timeouts
from opslib.proxies import Proxy
from opslib.results import Severity
from opslib.sites import Outcome, SiteReport, SiteTarget, Verdict, verify_sites
from tests.notify.receivers import silent_port
from tests.proxies.servers import EXIT_IP, ProxyServers
from tests.sites.servers import CAPTCHA, Answer, Certs, site
from tests.support import free_port


def _settings(
    ca_file: Path | None = None, timeout: float = 2.0, latency_warn: float | None = None
) -> Settings:
    thresholds = {} if latency_warn is None else {"sites.latency": ThresholdSpec(warn=latency_warn)}
    return Settings(
        timeouts=Timeouts(http=timeout),
        sites=SiteSettings(resolve={"*.test": "127.0.0.1"}, ca_file=ca_file),
        thresholds=thresholds,
    )


def _verify(urls: dict[str, str], settings: Settings, proxies: list[Proxy] = ()) -> SiteReport:  # type: ignore[assignment]
    return verify_sites([SiteTarget(d, u) for d, u in urls.items()], settings, proxies)


def _proxy(port: int) -> Proxy:
    return Proxy(scheme="http", host="127.0.0.1", port=port)


def test_tls_valid_expired_and_wrong_name_are_verdicts(certs: Certs) -> None:
    with (
        site(tls=certs.valid) as (good, _),
        site(tls=certs.expired) as (expired, _),
        site(tls=certs.other_name) as (wrong, _),
    ):
        report = _verify(
            {
                "good.test": f"https://good.test:{good}/product/1",
                "expired.test": f"https://expired.test:{expired}/",
                "wrong.test": f"https://wrong.test:{wrong}/",
            },
            _settings(certs.ca_file),
        )
    ok = report.of("good.test")
    assert ok.verdict is Verdict.UP, ok.evidence
    assert ok.direct is not None
    assert ok.direct.cert_days_left is not None
    assert certs.valid_days - 1 <= ok.direct.cert_days_left <= certs.valid_days
    # 10 days left is under sites.cert_days (warn 14): up, with a warning
    assert ok.severity is Severity.WARNING
    assert any("certificate ends in" in note for note in ok.notes)
    old = report.of("expired.test")
    assert (old.verdict, old.direct.stage if old.direct else None) == (Verdict.DOWN, "tls")
    assert "expired" in old.reason
    other = report.of("wrong.test")
    assert other.verdict is Verdict.DOWN
    assert other.reason.startswith("TLS: Hostname mismatch")
    assert "wrong.test" in other.reason
    assert other.action == "opslib domains cooldown wrong.test --for 30m"


def test_unresolvable_refused_silent_and_slow(certs: Certs) -> None:
    closed = free_port()
    with (
        silent_port() as silent,
        site(Answer(delay=0.6)) as (slow, _),
        site() as (fast, _),
    ):
        began = time.monotonic()
        report = _verify(
            {
                "nothing.invalid": "https://nothing.invalid/",
                "refused.test": f"http://refused.test:{closed}/",
                "silent.test": f"http://silent.test:{silent}/",
                "slow.test": f"http://slow.test:{slow}/product/1",
                "fast.test": f"http://fast.test:{fast}/product/1",
            },
            _settings(timeout=1.5, latency_warn=300),
        )
        took = time.monotonic() - began
    assert took < 1.5 * 2, f"{took:.1f} s for a 1.5 s timeout"
    verdicts = {v.domain: v.verdict for v in report.verdicts}
    assert verdicts == {
        "nothing.invalid": Verdict.DOWN,
        "refused.test": Verdict.DOWN,
        "silent.test": Verdict.DOWN,
        "slow.test": Verdict.SLOW,
        "fast.test": Verdict.UP,
    }
    assert "does not resolve" in report.of("nothing.invalid").reason
    assert "connection refused" in report.of("refused.test").reason
    assert "no answer within 1.5 s" in report.of("silent.test").reason
    assert report.of("slow.test").severity is Severity.WARNING
    assert report.severity is Severity.CRITICAL


def test_rate_limited_captcha_and_not_the_shop() -> None:
    limited = Answer(429, b"slow down", {"Retry-After": "120"})
    with (
        site(limited) as (busy, _),
        site(Answer(200, CAPTCHA)) as (wall, _),
        site(Answer(403, b"Access Denied")) as (denied, _),
        site(Answer(200, b"<html><body>Welcome to nginx!</body></html>")) as (blank, _),
    ):
        report = _verify(
            {
                "busy.test": f"http://busy.test:{busy}/",
                "wall.test": f"http://wall.test:{wall}/",
                "denied.test": f"http://denied.test:{denied}/",
                "blank.test": f"http://blank.test:{blank}/",
            },
            _settings(),
        )
    busy_v = report.of("busy.test")
    assert (busy_v.verdict, busy_v.retry_after) == (Verdict.RATE_LIMITED, 120)
    assert busy_v.action == (
        "opslib ratelimit set busy.test --rate 1/s && opslib domains cooldown busy.test --for 2m"
    )
    assert report.of("wall.test").verdict is Verdict.BLOCKING
    assert "captcha" in report.of("wall.test").reason
    assert report.of("denied.test").verdict is Verdict.BLOCKING
    unknown = report.of("blank.test")
    assert (unknown.verdict, unknown.severity) == (Verdict.UNKNOWN, Severity.UNKNOWN)


def test_blocking_through_proxies_only(proxy_servers: ProxyServers) -> None:
    proxies = [_proxy(proxy_servers.http_proxy()) for _ in range(3)]

    def refuse_proxies(peer: str, _path: str) -> Answer:
        return Answer(403, CAPTCHA) if peer == EXIT_IP else Answer()

    with site(refuse_proxies) as (picky, seen), site() as (open_, _):
        report = _verify(
            {
                "picky.test": f"http://picky.test:{picky}/p",
                "open.test": f"http://open.test:{open_}/p",
            },
            _settings(),
            proxies,
        )
    assert EXIT_IP in seen
    assert "127.0.0.1" in seen
    picky_v = report.of("picky.test")
    assert picky_v.verdict is Verdict.BLOCKING, picky_v.evidence
    assert "refused through 3 of 3 proxies" in picky_v.reason
    assert picky_v.action == "opslib proxies rotate"
    up = report.of("open.test")
    assert up.verdict is Verdict.UP, up.evidence
    assert sum(p.outcome is Outcome.OK for p in up.probes) == 4
    assert report.failing_proxies == ()


def test_our_proxies_failing_for_every_site(proxy_servers: ProxyServers) -> None:
    dead = [_proxy(free_port()) for _ in range(2)]  # nothing listens: refused
    good = _proxy(proxy_servers.http_proxy())
    with site() as (one, _), site() as (two, _):
        urls = {"one.test": f"http://one.test:{one}/p", "two.test": f"http://two.test:{two}/p"}
        report = _verify(urls, _settings(), [*dead, good])
        partly = _verify(urls, _settings(), [dead[0], good, _proxy(proxy_servers.http_proxy())])
    for domain in urls:
        verdict = report.of(domain)
        assert verdict.verdict is Verdict.PROXIES_FAILING, verdict.evidence
        assert verdict.action == "opslib proxies test && opslib proxies rotate"
        assert "connection refused" in verdict.reason
    assert set(report.failing_proxies) == {p.url for p in dead}
    # one of three unusable: the sites are up, the proxy is named
    assert {v.verdict for v in partly.verdicts} == {Verdict.UP}
    assert partly.failing_proxies == (dead[0].url,)
    assert any(dead[0].url in note for note in partly.of("one.test").notes)


def test_a_blackholed_proxy_costs_the_timeout_not_more(proxy_servers: ProxyServers) -> None:
    hole = _proxy(proxy_servers.http_proxy("blackhole"))
    with site() as (one, _), site() as (two, _):
        began = time.monotonic()
        report = _verify(
            {"one.test": f"http://one.test:{one}/p", "two.test": f"http://two.test:{two}/p"},
            _settings(timeout=1.0),
            [hole],
        )
        took = time.monotonic() - began
    assert took < 2.0
    assert {v.verdict for v in report.verdicts} == {Verdict.PROXIES_FAILING}
    assert report.failing_proxies == (hole.url,)
    assert "no answer through the proxy within 1 s" in report.of("one.test").reason


def test_proxy_credentials_and_socks(proxy_servers: ProxyServers) -> None:
    secret = "pr0xy-Pa55word-9z"
    right = proxy_servers.http_proxy(credentials=("scraper", secret))
    wrong = proxy_servers.http_proxy(credentials=("scraper", "another-one"))
    socks = proxy_servers.socks5_proxy()
    proxies = [
        Proxy(scheme="http", host="127.0.0.1", port=right, username="scraper", password=secret),
        Proxy(
            scheme="http", host="127.0.0.1", port=wrong, username="scraper", password=secret + "x"
        ),
        Proxy(scheme="socks5", host="127.0.0.1", port=socks),
    ]
    with site() as (port, _):
        report = _verify({"local": f"http://127.0.0.1:{port}/p"}, _settings(), proxies)
    verdict = report.of("local")
    outcomes = {p.via: p.outcome for p in verdict.probes}
    assert outcomes == {
        None: Outcome.OK,
        f"http://127.0.0.1:{right}": Outcome.OK,
        f"http://127.0.0.1:{wrong}": Outcome.PROXY_FAILED,
        f"socks5://127.0.0.1:{socks}": Outcome.OK,
    }
    assert verdict.verdict is Verdict.UP
    assert "HTTP 407" in " ".join(verdict.evidence)
    assert secret not in repr(report)


def test_a_site_slow_only_once_is_asked_again() -> None:
    answers = iter([Answer(delay=0.6)])

    def slow_once(_peer: str, _path: str) -> Answer:
        return next(answers, Answer())

    with site(slow_once) as (port, seen):
        report = _verify({"once.test": f"http://once.test:{port}/p"}, _settings(latency_warn=300))
    verdict = report.of("once.test")
    assert len(seen) == 2
    assert verdict.verdict is Verdict.UP, verdict.evidence
    assert verdict.direct is not None
    assert verdict.direct.latency_ms is not None
    assert verdict.direct.latency_ms < 300
