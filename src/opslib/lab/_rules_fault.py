"""Lab fault ``rules-ignored``: the API stops asking the request rules (an old build deployed),
while the rules deny ``/admin*`` and ``*.env`` and a scanner probes them.

``inject`` adds a rules version denying those paths (over the active one), and starts the
``scan`` attack traffic; the lab API reads the fault from the control file and skips
``RequestRules.check_request`` while it lasts, so the probes are answered (200 for ``/admin``)
and ``emergency.security``'s rules check names them. ``heal`` stops the scan and activates the
rules the lab found again, as a new version (so the check judges from then on).
"""

from __future__ import annotations

from typing import Protocol

from opslib.adapters import Database
from opslib.lab._api import ATTACKERS, start_attack, stop_attack
from opslib.lab._control import FaultRecord
from opslib.lab._settings import LabSettings
from opslib.security import VersionStore

__all__ = ["DENIED", "heal_rules_ignored", "inject_rules_ignored"]

DENIED = ("/admin*", "*.env")
"""The paths the fault's rules deny."""
_ACTOR = "lab fault rules-ignored"


class _Host(Protocol):
    @property
    def settings(self) -> LabSettings: ...

    def database(self) -> Database: ...


def inject_rules_ignored(host: _Host, _target: str | None) -> str:
    """Rules denying :data:`DENIED`, the API ignoring them, a scanner probing them."""
    with host.database() as db:
        store = VersionStore(db, "rules")
        before = store.active()
        body = dict(before.body) if before else {}
        body["denied_paths"] = sorted({*body.get("denied_paths", []), *DENIED})
        version = store.add(body, actor=_ACTOR).version
    start_attack("scan", host.settings)
    return (
        f"rules-ignored: the API skips the request rules (version {version} denies"
        f" {', '.join(DENIED)}); {ATTACKERS['scan']} probes them"
    )


def heal_rules_ignored(host: _Host, _record: FaultRecord) -> str:
    """Stop the scan; the rules before the fault's, as a new version."""
    stop_attack("scan", host.settings)
    with host.database() as db:
        store = VersionStore(db, "rules")
        versions = store.history()
        mine = next((v for v in versions if v.actor == _ACTOR), None)
        earlier = [v for v in versions if mine is not None and v.version < mine.version]
        body = dict(earlier[0].body) if earlier else {}
        version = store.add(body, actor=_ACTOR + " (healed)").version
    return f"rules-ignored healed: the API asks the rules again; version {version} as before"
