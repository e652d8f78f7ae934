"""emergency.high_error_rate part 1 on a fake Prometheus: which domains err and the likely
cause from the errors counter's reason label (the lab's real Prometheus: tests/checks)."""

from __future__ import annotations

import pytest

from opslib.adapters import Sample
from opslib.config import MetricNames, Settings
from opslib.health import Cause, action_for, classify_error, error_causes
from opslib.results import Severity
from tests.health.fakes import FakePrometheus

ERRORS = (
    "sum by (domain, reason, kind, outcome, status, code, error, type, cause)"
    " (rate(scraper_errors_total[1h]))"
)
REQUESTS = "sum by (domain) (rate(scraper_requests_total[1h]))"


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        ("HTTP 429 Too Many Requests (retry after 5s)", Cause.RATE_LIMITED),
        ("rate_limited", Cause.RATE_LIMITED),
        ("banned", Cause.BLOCKED),
        ("GET https://shop/p/1 failed: HTTP 403 Forbidden", Cause.BLOCKED),
        ("captcha page", Cause.BLOCKED),
        ("proxy_error", Cause.PROXIES),
        ("ProxyError: <*> refused", Cause.PROXIES),
        ("timeout", Cause.SLOW),
        ("ReadTimeout after 10 s", Cause.SLOW),
        ("HTTP 503 Service Unavailable", Cause.SITE_DOWN),
        ("http_error", Cause.SITE_DOWN),
        ("ConnectError: connection refused", Cause.SITE_DOWN),
        ("parse_error", Cause.EXTRACTION),
        ("price not found on <*>", Cause.EXTRACTION),
        ("something odd", Cause.UNKNOWN),
    ],
)
def test_words_name_the_cause(text: str, cause: Cause) -> None:
    assert classify_error(text) is cause


def test_actions_are_commands_for_the_domain() -> None:
    assert "opslib ratelimit set a.test --rate 1.5/s" in action_for(Cause.RATE_LIMITED, "a.test", 3)
    assert "opslib proxies rotate" in action_for(Cause.PROXIES, "a.test")
    assert "opslib domains cooldown a.test --for 30m" in action_for(Cause.BLOCKED, "a.test")
    assert "N/s" in action_for(Cause.RATE_LIMITED, "a.test")


def _prometheus(errors: list[Sample], requests: dict[str, float]) -> FakePrometheus:
    return FakePrometheus(
        vectors={
            ERRORS: errors,
            REQUESTS: [Sample({"domain": d}, r) for d, r in requests.items()],
        }
    )


def test_the_erring_domain_is_named_with_its_cause_and_action() -> None:
    prometheus = _prometheus(
        [
            Sample({"domain": "a.test", "outcome": "http_error"}, 0.01),
            Sample({"domain": "b.test", "outcome": "proxy_error"}, 0.6),
            Sample({"domain": "b.test", "outcome": "timeout"}, 0.2),
        ],
        {"a.test": 2.0, "b.test": 1.0},
    )
    result = error_causes(prometheus, Settings())
    assert result.severity is Severity.CRITICAL
    (bad,) = result.problems
    assert bad.subject == "b.test"
    assert bad.value == 0.8
    assert "likely cause: our proxies failing (proxy_error 75%, timeout 25%)" in bad.note
    assert "opslib proxies rotate" in result.remediation
    assert "a.test" not in result.remediation
    assert result.tables[0].rows[1][4] == Cause.PROXIES.value


def test_quiet_fleet_is_ok_and_no_series_is_unknown() -> None:
    ok = error_causes(_prometheus([], {"a.test": 2.0}), Settings())
    assert ok.severity is Severity.OK
    assert error_causes(_prometheus([], {}), Settings()).severity is Severity.UNKNOWN


def test_labels_read_together_and_a_configured_label() -> None:
    prometheus = _prometheus(
        [
            Sample({"domain": "a.test", "kind": "http_error", "code": "429"}, 0.5),
            Sample({"domain": "a.test", "kind": "http_error", "code": "503"}, 0.2),
        ],
        {"a.test": 1.0},
    )
    (bad,) = error_causes(prometheus, Settings()).problems
    assert "rate-limiting us (http_error 429 71%, http_error 503 29%)" in bad.note
    settings = Settings(metric_names=MetricNames(reason_label="why"))
    prometheus = FakePrometheus(
        vectors={
            "sum by (domain, why) (rate(scraper_errors_total[1h]))": [
                Sample({"domain": "a.test", "why": "captcha"}, 1.0)
            ],
            REQUESTS: [Sample({"domain": "a.test"}, 2.0)],
        }
    )
    assert "blocking us" in error_causes(prometheus, settings).problems[0].note


def test_without_a_reason_label_the_cause_is_unknown() -> None:
    prometheus = _prometheus([Sample({"domain": "a.test"}, 1.0)], {"a.test": 2.0})
    settings = Settings()
    result = error_causes(prometheus, settings)
    assert result.severity is Severity.CRITICAL
    assert "likely cause: unknown" in result.problems[0].note
    assert "opslib logs patterns" in result.remediation
