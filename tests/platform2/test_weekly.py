"""The weekly proxy-pool suite on the second platform, after ``opslib proxies test`` against its
httpbin-shaped judge: true answers for a clean pool, then for a pool with a leaking proxy."""

from __future__ import annotations

from pathlib import Path

from tests.platform2.stack import COUNTRIES, SITES, Platform2, opslib_cli
from tests.platform2.suites import run_suite

WEEKLY_CHECKS = 5
# The proxy-pool checks: the database maintenance and the week-on-week review need a platform
# with a maintained database and two weeks of history, which this fresh one is not.
WEEKLY = "weekly/test_proxy_pool.py"


def test_weekly_after_testing_the_pool_with_the_httpbin_judge(
    platform2: Platform2, tmp_path: Path
) -> None:
    tested = opslib_cli(platform2.config, "proxies", "test")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert tested.stdout.count(" ok ") == len(COUNTRIES), tested.stdout
    assert "127.0.0.2" in tested.stdout  # the exit address httpbin's origin names

    run = run_suite(platform2, WEEKLY, tmp_path / "clean")
    assert run.process.returncode == 0, run.process.stdout[-3000:]
    assert run.severities == dict.fromkeys(
        ["test_healthy_proxies", "test_country_distribution", "test_ban_rate",
         "test_pool_latency", "test_leaking_proxies"], "OK",
    )  # fmt: skip
    assert run.summary["platform"].startswith("pricewatch-eu")
    assert run.figure("test_healthy_proxies", "healthy_count")["value"] == len(COUNTRIES)
    assert run.figure("test_healthy_proxies", "healthy_share")["value"] == 1.0
    # required DE 2, FR 2, US 1 (written in upper case; settings and the pool keep lower case)
    for country in ("de", "fr", "us"):
        shortfall = run.figure("test_country_distribution", "country_shortfall", country)
        assert shortfall["value"] == 0, shortfall
    assert run.figure("test_country_distribution", "country_share", "DE")["value"] == 0.333
    # the scraper's leases: every site requested through the pool, none banned
    assert run.subjects("test_ban_rate", "ban_rate") == set(SITES)
    for site in SITES:
        assert run.figure("test_ban_rate", "ban_rate", site)["value"] == 0
    assert 0 < run.figure("test_pool_latency", "p95_latency")["value"] < 2000
    leaking = run.figure("test_leaking_proxies", "leaking")
    assert leaking["value"] == 0
    assert leaking["note"].startswith(f"{len(COUNTRIES)} tested")
    assert platform2.password not in run.text()

    # A leaking proxy joins the pool: httpbin hides Via and X-Forwarded-For from its headers,
    # but its origin names our address, so the test run and the leak check see it.
    port = platform2.servers.http_proxy("leaking")
    leaky = f"http://127.0.0.1:{port}"
    listed = tmp_path / "more-proxies.txt"
    listed.write_text(f"{leaky},US\n")
    added = opslib_cli(platform2.config, "proxies", "update", str(listed))
    assert added.returncode == 0, added.stdout + added.stderr
    tested = opslib_cli(platform2.config, "proxies", "test")
    assert tested.returncode == 1, tested.stdout + tested.stderr  # some proxy leaks
    run = run_suite(platform2, WEEKLY, tmp_path / "leaking")
    assert run.process.returncode == 1
    assert run.severities["test_leaking_proxies"] == "CRITICAL"
    leaking = run.figure("test_leaking_proxies", "leaking")
    assert leaking["value"] == 1
    assert leaking["note"].startswith(f"leaking: {leaky};")
    others = {name: sev for name, sev in run.severities.items() if name != "test_leaking_proxies"}
    assert set(others.values()) == {"OK"}, others
    assert run.figure("test_healthy_proxies", "healthy_count")["value"] == len(COUNTRIES) + 1
