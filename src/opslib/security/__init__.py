"""Security incident response (runbook Emergency: security incident): access-log analysis, the
blocklist the API enforces through :func:`is_blocked`, its export to the firewall, the API keys
(:class:`KeyStore`), and the checks of ``emergency.security``."""

from opslib.security._analysis import (
    Analysis,
    Analyzer,
    ClientReport,
    Policy,
    fingerprint,
    is_unusual_path,
)
from opslib.security._blocklist import (
    BlockEntry,
    Blocklist,
    BlockPlan,
    BlockRefused,
    check_blockable,
    parse_duration,
    plan_block,
    plan_unblock,
    protected_networks,
)
from opslib.security._checks import (
    SOP,
    blocked_still_served,
    check_access_patterns,
    sensitive_requests,
)
from opslib.security._default import default_blocklist, is_blocked
from opslib.security._firewall import (
    FirewallRules,
    apply_rules,
    build_rules,
    render_rules,
    validate_rules,
)
from opslib.security._incident import IncidentReport, generate_incident_report, open_incident
from opslib.security._keys import ApiKey, KeyStore, check_key_age, key_store
from opslib.security._parse import iter_chunks, json_record, parse_chunk
from opslib.security._policy import (
    SecurityPolicy,
    apply_policy,
    effective_settings,
    plan_policy,
    policy_store,
)
from opslib.security._ranges import AddressSet, address_key, parse_address, parse_network
from opslib.security._read import (
    analyze_security_logs,
    db_auth_failures,
    policy_for,
    policy_of,
    recent_analysis,
)
from opslib.security._rules import (
    Decision,
    DocumentVersion,
    RequestRules,
    RuleSet,
    VersionStore,
    diff_documents,
    parse_assignments,
    parse_rule_set,
    plan_rules,
)

__all__ = [
    "SOP",
    "AddressSet",
    "Analysis",
    "Analyzer",
    "ApiKey",
    "BlockEntry",
    "BlockPlan",
    "BlockRefused",
    "Blocklist",
    "ClientReport",
    "Decision",
    "DocumentVersion",
    "FirewallRules",
    "IncidentReport",
    "KeyStore",
    "Policy",
    "RequestRules",
    "RuleSet",
    "SecurityPolicy",
    "VersionStore",
    "address_key",
    "analyze_security_logs",
    "apply_policy",
    "apply_rules",
    "blocked_still_served",
    "build_rules",
    "check_access_patterns",
    "check_blockable",
    "check_key_age",
    "db_auth_failures",
    "default_blocklist",
    "diff_documents",
    "effective_settings",
    "fingerprint",
    "generate_incident_report",
    "is_blocked",
    "is_unusual_path",
    "iter_chunks",
    "json_record",
    "key_store",
    "open_incident",
    "parse_address",
    "parse_assignments",
    "parse_chunk",
    "parse_duration",
    "parse_network",
    "parse_rule_set",
    "plan_block",
    "plan_policy",
    "plan_rules",
    "plan_unblock",
    "policy_for",
    "policy_of",
    "policy_store",
    "protected_networks",
    "recent_analysis",
    "render_rules",
    "sensitive_requests",
    "validate_rules",
]
