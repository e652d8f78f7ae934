"""``opslib doctor --json`` on the second platform: each check's level is the contract's."""

from __future__ import annotations

import json

from tests.platform2.stack import Platform2, opslib_cli

EXPECTED = {
    ("daily.health", "services running"): "full",
    ("daily.health", "restarts not climbing"): "full",
    ("daily.health", "CPU and memory"): "full",
    # no requests counter: errors/s only, the share not judged
    ("daily.health", "error rate"): "partial",
    # no work_queue_depth in Prometheus: growth from two /metrics samples
    ("daily.performance", "queue size"): "partial",
    ("daily.performance", "processing rate"): "full",
    # shop.fetch_log has no proxy columns: opslib's pool usage instead
    ("daily.performance", "proxy performance"): "full",
    ("daily.data_quality", "hourly extractions, coverage, confidence, freshness"): "full",
    ("weekly.proxy_pool", "proxy pool"): "full",
    ("monthly.backups", "backups"): "full",
}


def test_doctor_says_what_runs_fully_and_what_partly(platform2: Platform2) -> None:
    run = opslib_cli(platform2.config, "--json", "doctor")
    report = json.loads(run.stdout)
    levels = {(c["sop"], c["check"]): c["level"] for c in report["checks"]}
    assert {key: levels.get(key) for key in EXPECTED} == EXPECTED, report["checks"]
    # Checks added since: this platform has every piece, so none of them cannot run.
    assert "none" not in levels.values(), report["checks"]
    checks = [c for c in report["checks"] if (c["sop"], c["check"]) in EXPECTED]
    missing = {c["check"]: c["missing"] for c in checks if c["missing"]}
    assert missing == {
        "error rate": ["metric scraper_requests_total (optional)"],
        "queue size": ["metric work_queue_depth (optional)"],
    }
    probes = {p["key"]: p for p in report["probes"]}
    assert probes["postgresql.scrape_logs_proxy"]["found"] is False
    assert "shop.fetch_log" in probes["postgresql.scrape_logs_proxy"]["item"]
    assert probes["opslib.pool_usage"]["found"] is True
    assert probes["metrics.queue"]["found"] is True
    assert probes["prometheus.errors"]["item"] == "metric crawler_failures_total"
    assert run.returncode == 1, run.stderr  # some checks run only partly
    assert report["exit_status"] == 1
    assert platform2.password not in run.stdout + run.stderr
