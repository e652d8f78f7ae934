"""emergency.security: Security Incident Response, investigation and containment.

The API's access logs (``security.access_logs``) over ``security.window``: no source above its
rate or authentication-failure limit, no probe of a sensitive path answered, no blocked source
still getting through; and no live API key older than its maximum age. Blocked sources are
contained: the first two checks list them apart, the third makes sure the block holds. Every
red check names the action as a command.
"""

from __future__ import annotations

import pytest

from opslib import security
from opslib.adapters import Database
from opslib.config import Settings
from opslib.errors import OpsError
from opslib.pytest_plugin import Verdict
from opslib.results import CheckResult

pytestmark = pytest.mark.sop("emergency.security")


@pytest.fixture(scope="module")
def policy_settings(ops_db: Database, ops_settings: Settings) -> Settings:
    """The settings under the security policy (``opslib security policy``): what it sets
    replaces the configured limits, the configuration holds for the rest."""
    return security.effective_settings(ops_settings, ops_db)


@pytest.fixture(scope="module")
def recent(policy_settings: Settings) -> security.Analysis | str:
    """The access logs of the window, or why they could not be read."""
    try:
        return security.recent_analysis(policy_settings)
    except OpsError as exc:
        return str(exc)


@pytest.fixture(scope="module")
def blocklist(ops_db: Database, policy_settings: Settings) -> security.Blocklist:
    return security.Blocklist(ops_db, policy_settings.security)


def test_sources_within_limits(
    recent: security.Analysis | str,
    blocklist: security.Blocklist,
    policy_settings: Settings,
    ops_verdict: Verdict,
) -> None:
    """No source above security.request_rate or security.auth_failures (runbook: check access
    patterns, block suspicious IPs)."""
    if isinstance(recent, str):
        ops_verdict(CheckResult.unknown(security.SOP, "requests per source", recent))
        return
    ops_verdict(security.check_access_patterns(recent, blocklist.networks(), policy_settings))


def test_no_sensitive_path_answered(
    recent: security.Analysis | str,
    blocklist: security.Blocklist,
    policy_settings: Settings,
    ops_verdict: Verdict,
) -> None:
    """No request to admin, dot-files, traversal or injection paths answered 2xx (runbook:
    analyse security logs)."""
    if isinstance(recent, str):
        ops_verdict(CheckResult.unknown(security.SOP, "sensitive paths", recent))
        return
    ops_verdict(security.sensitive_requests(recent, blocklist.networks(), policy_settings))


def test_blocked_sources_refused(
    recent: security.Analysis | str,
    blocklist: security.Blocklist,
    policy_settings: Settings,
    ops_verdict: Verdict,
) -> None:
    """Every blocked source is refused by the API (runbook: block suspicious IPs, update
    firewall rules)."""
    if isinstance(recent, str):
        ops_verdict(CheckResult.unknown(security.SOP, "blocked sources", recent))
        return
    entries = blocklist.entries()
    ops_verdict(security.blocked_still_served(recent, entries, blocklist.now(), policy_settings))


def test_keys_within_max_age(
    ops_db: Database, policy_settings: Settings, ops_verdict: Verdict
) -> None:
    """No live API key older than security.key_age_days (runbook: rotate API keys)."""
    store = security.key_store(ops_db, policy_settings)
    try:
        keys, now = store.entries(), store.now()
    except OpsError as exc:
        ops_verdict(CheckResult.unknown(security.SOP, "age of the live API keys", str(exc)))
        return
    ops_verdict(security.check_key_age(keys, now, policy_settings))


def test_auth_failures_not_spread(
    recent: security.Analysis | str,
    blocklist: security.Blocklist,
    policy_settings: Settings,
    ops_verdict: Verdict,
) -> None:
    """Few sources failing authentication: credential stuffing spreads its tries over many
    addresses, each below security.auth_failures (runbook: check access patterns)."""
    if isinstance(recent, str):
        ops_verdict(CheckResult.unknown(security.SOP, "sources failing authentication", recent))
        return
    ops_verdict(security.check_auth_spread(recent, blocklist.networks(), policy_settings))


def test_keys_used_from_few_addresses(
    recent: security.Analysis | str,
    blocklist: security.Blocklist,
    ops_db: Database,
    policy_settings: Settings,
    ops_verdict: Verdict,
) -> None:
    """No API key served to more addresses than security.key_sources: a leaked key turns up
    from many new addresses (runbook: revoke compromised credentials)."""
    if isinstance(recent, str):
        ops_verdict(CheckResult.unknown(security.SOP, "addresses per API key", recent))
        return
    try:
        names = security.key_names(security.key_store(ops_db, policy_settings).entries())
    except OpsError:
        names = {}  # the check still measures; the advice names the key's fingerprint
    result = security.check_key_spread(recent, blocklist.networks(), policy_settings, names)
    ops_verdict(result)


def test_request_rules_enforced(
    ops_db: Database, policy_settings: Settings, ops_verdict: Verdict
) -> None:
    """No request the active request rules deny (by method or path) was answered other than
    403 since they took effect (runbook: update security measures)."""
    try:
        result = security.check_rules_enforced(ops_db, policy_settings)
    except OpsError as exc:
        result = CheckResult.unknown(security.SOP, "the API enforces the request rules", str(exc))
    ops_verdict(result)


def test_services_run_one_image(
    request: pytest.FixtureRequest, policy_settings: Settings, ops_verdict: Verdict
) -> None:
    """Every service's containers run one image: none left half-way through a patch (runbook:
    update security measures, deploy patches)."""
    try:
        platform = request.getfixturevalue("ops_platform")
        result = security.check_replica_images(platform, policy_settings)
    except OpsError as exc:
        result = CheckResult.unknown(security.SOP, "each service runs one image", str(exc))
    ops_verdict(result)
