"""The security policy (``opslib security policy``): key maximum age, rotation overlap,
allowlist, default block time and the thresholds the suite judges against, versioned in
``opslib.security_versions`` like the request rules.

A field not set in the policy keeps the configuration's value: :func:`effective_settings`
lays the active policy over the settings, and the suite, the blocklist and the keys read the
result (config stays the fallback, also when the policy cannot be read).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from opslib.adapters import Database
from opslib.config import SecuritySettings, Settings, ThresholdSpec
from opslib.errors import InputError, OpsError
from opslib.security._rules import DocumentVersion, VersionStore, parse_assignments, validated

__all__ = [
    "SecurityPolicy",
    "apply_policy",
    "effective_settings",
    "plan_policy",
    "policy_store",
]

_log = logging.getLogger(__name__)

_DURATION = r"^[1-9][0-9]*[smhd]$"
_SECURITY_FIELDS = ("key_overlap", "allowlist", "default_block", "max_legit_share")
_THRESHOLDS = {
    "key_max_age_days": ("security.key_age_days", "crit"),
    "key_age_warn_days": ("security.key_age_days", "warn"),
    "request_rate_warn": ("security.request_rate", "warn"),
    "request_rate_crit": ("security.request_rate", "crit"),
    "auth_failures_warn": ("security.auth_failures", "warn"),
    "auth_failures_crit": ("security.auth_failures", "crit"),
}


class SecurityPolicy(BaseModel):
    """One version of the policy; ``None`` is not set (the configuration's value holds)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key_max_age_days: float | None = Field(None, gt=0, description="security.key_age_days crit")
    key_age_warn_days: float | None = Field(None, gt=0, description="security.key_age_days warn")
    key_overlap: str | None = Field(None, pattern=r"^[0-9]+[smhd]$")
    allowlist: tuple[str, ...] | None = None
    default_block: str | None = Field(None, pattern=_DURATION)
    max_legit_share: float | None = Field(None, gt=0, le=1)
    request_rate_warn: float | None = Field(None, gt=0)
    request_rate_crit: float | None = Field(None, gt=0)
    auth_failures_warn: float | None = Field(None, gt=0)
    auth_failures_crit: float | None = Field(None, gt=0)

    def values(self) -> dict[str, Any]:
        """The fields set, JSON-ready."""
        return {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in self.model_dump().items()
            if v is not None
        }


def policy_store(db: Database) -> VersionStore:
    """The policy's versions in ``db``."""
    return VersionStore(db, "policy")


def _policy(body: Mapping[str, Any]) -> SecurityPolicy:
    return validated(SecurityPolicy, body, "policy")


def apply_policy(settings: Settings, policy: SecurityPolicy) -> Settings:
    """``settings`` with what ``policy`` sets in place of the configured values."""
    given = policy.values()
    update = {k: given[k] for k in _SECURITY_FIELDS if k in given}
    if update:
        try:
            checked = SecuritySettings.model_validate(update)  # validates the allowlist
        except ValidationError as exc:
            first = exc.errors()[0]
            raise InputError(f"policy: {first['loc'][0]}: {first['msg']}") from None
        update = {k: getattr(checked, k) for k in update}
    thresholds = dict(settings.thresholds)
    for field, (name, limit) in _THRESHOLDS.items():
        if field in given:
            spec = thresholds.get(name) or ThresholdSpec()
            thresholds[name] = spec.model_copy(update={limit: float(given[field])})
    security = settings.security.model_copy(update=update)
    changed = settings.model_copy(update={"security": security, "thresholds": thresholds})
    for name in sorted({n for n, _ in _THRESHOLDS.values()}):
        judged = changed.threshold(name)
        warn, crit = judged.warn, judged.crit
        if warn is None or crit is None or warn == crit:
            continue
        if (warn > crit) == (judged.bad == "above"):
            raise InputError(f"policy: {name}: warn {warn:g} lies beyond crit {crit:g}")
    return changed


def effective_settings(settings: Settings, db: Database) -> Settings:
    """``settings`` under the active policy in ``db`` (unchanged when none is set or it cannot
    be read: the configuration is the fallback)."""
    try:
        found = policy_store(db).active()
    except OpsError as exc:
        _log.warning("security policy not read, the configuration holds: %s", exc)
        return settings
    if found is None:
        return settings
    try:
        return apply_policy(settings, _policy(found.body))
    except InputError as exc:
        _log.warning("security policy version %s ignored: %s", found.version, exc)
        return settings


def plan_policy(
    settings: Settings, current: DocumentVersion | None, pairs: Iterable[str]
) -> SecurityPolicy:
    """The policy after ``KEY=VALUE`` assignments (an empty value unsets a key) over the
    active one, validated against ``settings``; InputError names what is wrong."""
    body = dict(current.body) if current else {}
    for key, value in parse_assignments(SecurityPolicy, pairs).items():
        if value in (None, []):
            body.pop(key, None)
        else:
            body[key] = value
    policy = _policy(body)
    apply_policy(settings, policy)
    return policy
