"""Default thresholds for every check, by name; configuration overrides them.

Names are ``area.figure``. ``bad="below"`` marks floors (coverage, confidence, rates).
"""

from __future__ import annotations

from types import MappingProxyType

from opslib.results import Threshold

__all__ = ["DEFAULT_THRESHOLDS"]

DEFAULT_THRESHOLDS: MappingProxyType[str, Threshold] = MappingProxyType(
    {
        # daily.health
        "health.cpu_percent": Threshold(warn=80, crit=95, unit="%"),
        "health.memory_percent": Threshold(warn=80, crit=95, unit="%"),
        "health.restarts_per_hour": Threshold(warn=1, crit=3, unit="restarts/h"),
        "health.error_rate": Threshold(warn=1.0, crit=5.0, unit="errors/s"),
        "health.error_ratio": Threshold(warn=0.05, crit=0.15, unit="of requests"),
        # daily.performance
        "performance.queue_size": Threshold(warn=1000, crit=5000, unit="items"),
        "performance.queue_growth": Threshold(warn=500, crit=2000, unit="items/h"),
        "performance.processing_rate": Threshold(warn=1.0, crit=0.2, bad="below", unit="items/s"),
        "performance.drain_time": Threshold(warn=3600, crit=4 * 3600, unit="s"),
        "performance.proxy_success_rate": Threshold(warn=0.9, crit=0.7, bad="below"),
        "performance.proxy_p95_latency": Threshold(warn=2000, crit=5000, unit="ms"),
        # daily.data_quality
        "quality.freshness": Threshold(warn=15, crit=60, unit="min"),
        "quality.missing_hours": Threshold(warn=0.5, crit=0.5, unit="hours"),
        "quality.price_coverage": Threshold(warn=0.95, crit=0.85, bad="below"),
        "quality.avg_confidence": Threshold(warn=0.85, crit=0.7, bad="below"),
        "quality.domain_confidence": Threshold(warn=0.8, crit=0.6, bad="below"),
        # emergency.data_quality: per domain (opslib quality by-domain)
        "quality.missing_price_rate": Threshold(warn=0.2, crit=0.4, unit="of rows"),
        "quality.implausible_prices": Threshold(warn=0.01, crit=0.05, unit="of prices"),
        "quality.overdue_urls": Threshold(warn=0.05, crit=0.2, unit="of URLs"),
        "quality.confidence_drift": Threshold(warn=3, unit="sigma"),
        "quality.missing_drift": Threshold(warn=3, unit="sigma"),
        # emergency.data_quality: a domain's extractor on its reference pages
        "patterns.accuracy": Threshold(warn=0.95, crit=0.8, bad="below", unit="of pages"),
        # monthly.backups: newest_age's crit is the recovery point objective
        "backups.newest_age": Threshold(warn=24, crit=26, unit="h"),
        "backups.verified_age": Threshold(warn=28, crit=35, unit="days"),
        "backups.integrity_failures": Threshold(crit=0, unit="backups"),
        "backups.restore_failures": Threshold(crit=0, unit="problems"),
        "backups.catalogue_mismatches": Threshold(warn=0, crit=0, unit="entries"),
        "backups.retained_shortfall": Threshold(crit=0, unit="backups"),
        "backups.prune_pending": Threshold(warn=0, unit="backups"),
        "backups.scratch_orphans": Threshold(warn=0, unit="databases"),
        # weekly.proxy_pool
        "proxies.healthy_count": Threshold(warn=5, crit=2, bad="below", unit="proxies"),
        "proxies.healthy_share": Threshold(warn=0.9, crit=0.75, bad="below"),
        "proxies.country_shortfall": Threshold(warn=0.5, crit=0.5, unit="proxies"),
        "proxies.country_share": Threshold(warn=0.5, crit=0.6),
        "proxies.ban_rate": Threshold(warn=0.05, crit=0.2, unit="of requests"),
        "proxies.banned_share": Threshold(warn=0.1, crit=0.15, unit="of proxies"),
        "proxies.p95_latency": Threshold(warn=2000, crit=5000, unit="ms"),
        "proxies.leaking": Threshold(warn=0.5, crit=0.5, unit="proxies"),
        # emergency.high_error_rate: a random sample of active proxies tested now
        "proxies.sample_failing": Threshold(warn=0.2, crit=0.5, unit="of sampled"),
        # emergency.high_error_rate: the scrapers' logs (opslib.logs.error_patterns)
        "logs.new_error_patterns": Threshold(warn=0, unit="patterns"),
        # daily.health: an open maintenance window past its expected end is stuck
        "maintenance.overdue": Threshold(crit=0, unit="min"),
        # maintenance.pre_deploy / maintenance.post_deploy: the deploy gate (opslib.gate)
        "gate.verified_backup_age": Threshold(warn=3, crit=7, unit="days"),
        "gate.open_windows": Threshold(crit=0, unit="windows"),
        "gate.baseline_age": Threshold(warn=24, unit="h"),
        "gate.error_ratio_rise": Threshold(warn=3, crit=10, unit="pp"),
        "gate.error_rate_rise": Threshold(warn=0.5, crit=2.0, unit="errors/s"),
        "gate.confidence_drop": Threshold(warn=0.05, crit=0.1),
        "gate.coverage_drop": Threshold(warn=3, crit=10, unit="pp"),
        "gate.containers_lost": Threshold(warn=0, unit="containers"),
        "gate.data_flow": Threshold(warn=60, crit=300, unit="s"),
        # emergency.overload: database activity and slow statements (opslib.dbactivity)
        "db.connections_used": Threshold(warn=0.8, crit=0.95, unit="of max_connections"),
        "db.query_seconds": Threshold(warn=60, crit=300, unit="s"),
        "db.idle_in_transaction_seconds": Threshold(warn=60, crit=600, unit="s"),
        "db.lock_wait_seconds": Threshold(warn=5, crit=30, unit="s"),
        "db.statement_mean_ms": Threshold(warn=500, crit=2000, unit="ms"),
        "db.missing_indexes": Threshold(warn=0, unit="indexes"),
        # weekly.db_maintenance (opslib.dbmaintain)
        "db.vacuum_age": Threshold(warn=7, crit=14, unit="days"),
        "db.analyze_age": Threshold(warn=7, crit=14, unit="days"),
        "db.bloat": Threshold(warn=0.3, crit=0.5, unit="of the table"),
        "db.xid_age": Threshold(warn=0.5, crit=0.8, unit="of autovacuum_freeze_max_age"),
        "db.bad_indexes": Threshold(crit=0, unit="indexes"),
        "db.unused_indexes": Threshold(warn=0, unit="indexes"),
        "db.partition_size": Threshold(warn=50, unit="GiB"),
        # weekly.performance_review: this week against the previous one (opslib.review)
        "review.latency_rise": Threshold(warn=0.2, crit=0.5, unit="of last week"),
        "review.success_drop": Threshold(warn=2, crit=5, unit="pp"),
        "review.throughput_drop": Threshold(warn=0.1, crit=0.3, unit="of last week"),
        "review.resource_rise": Threshold(warn=0.25, crit=0.5, unit="of last week"),
        # monthly.capacity: forecasts (opslib.capacity)
        "capacity.days_until_full": Threshold(warn=180, crit=90, bad="below", unit="days"),
        "capacity.days_until_scale_out": Threshold(warn=90, crit=30, bad="below", unit="days"),
        "capacity.forecast_mape": Threshold(warn=0.1, crit=0.25),
        # the backup policy's projected bytes in 90 days, as % of the room the backups have
        "capacity.backup_policy_fill": Threshold(warn=80, crit=100, unit="%"),
        # emergency.high_error_rate: site availability (opslib.sites)
        "sites.latency": Threshold(warn=2000, unit="ms"),
        "sites.cert_days": Threshold(warn=14, bad="below", unit="days"),
        # emergency.data_quality: site changes (opslib sites changes)
        "sites.layout_distance": Threshold(crit=0.35),
        "sites.price_lost": Threshold(warn=0.5, unit="of pages"),
        # monthly.security_updates: service images and TLS certificates (opslib.updates)
        "updates.cert_days": Threshold(warn=21, crit=7, bad="below", unit="days"),
        "updates.image_age": Threshold(warn=90, unit="days"),
        "updates.newer_images": Threshold(warn=0),
        # emergency.security: per source over security.window (opslib.security)
        "security.request_rate": Threshold(warn=5, crit=20, unit="requests/s"),
        "security.auth_failures": Threshold(warn=2, crit=10, unit="failures/min"),
        "security.sensitive_successes": Threshold(crit=0, unit="requests"),
        "security.blocked_served": Threshold(crit=0, unit="sources"),
        "security.key_age_days": Threshold(warn=75, crit=90, unit="days"),
        # a service whose containers run more than one image: a patch stopped half-way
        "security.mixed_images": Threshold(crit=0, unit="extra images"),
        # requests the active request rules deny, answered other than 403
        "security.rules_bypassed": Threshold(crit=0, unit="requests"),
        # a debug switch's length, start to expiry (opslib security debug on refuses more)
        "security.debug_hours": Threshold(crit=4, unit="hours"),
        # attacks spread thin (opslib.security check_auth_spread, check_key_spread)
        "security.auth_failure_sources": Threshold(warn=5, crit=20, unit="sources"),
        "security.key_sources": Threshold(warn=5, crit=20, unit="addresses"),
    }
)
"""Every threshold by name, as shipped; ``[thresholds."name"]`` in the config overrides one."""
