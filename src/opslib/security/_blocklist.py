"""The blocklist in ``opslib.blocklist``: block and unblock (plan, then apply under an advisory
lock), the refusals that keep an operator from cutting off the platform, and ``is_blocked``.

``Blocklist.is_blocked`` is the API's hot path: the active networks are read at most once per
``security.cache_seconds`` (and only reloaded when a cheap marker query says they changed or an
expiry passed), held as merged integer intervals with a byte per IPv4 /24 (none, all or part
of it blocked), and answered from memory: an IPv4 address by its /24's byte, the rest (IPv6, a
split /24) by ``bisect``, those answers kept in a bounded cache.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, LiteralString
from urllib.parse import urlsplit

from opslib.adapters import Database
from opslib.audit import current_actor
from opslib.config import SecuritySettings, Settings
from opslib.errors import InputError, OpsError, UnsafeActionError
from opslib.security._ranges import (
    AddressSet,
    Network,
    address_key,
    network_range,
    parse_network,
)

__all__ = [
    "BlockEntry",
    "BlockPlan",
    "BlockRefused",
    "Blocklist",
    "check_blockable",
    "parse_duration",
    "protected_networks",
]

_log = logging.getLogger(__name__)

_LOCK = 0x626C6F636B  # "block": one blocklist change at a time, across processes
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_COLUMNS: LiteralString = (
    "id, network, reason, actor, created_at, changed_at, expires_at, removed_at, removed_by"
)
_ACTIVE: LiteralString = "removed_at IS NULL AND (expires_at IS NULL OR expires_at > now())"
_MARKER: LiteralString = (
    "SELECT count(*) AS n, max(changed_at) AS changed,"
    " min(expires_at) FILTER (WHERE expires_at > now()) AS next_expiry,"
    " extract(epoch FROM now())::float8 AS now"
    " FROM opslib.blocklist WHERE " + _ACTIVE
)
_LOAD: LiteralString = (
    "SELECT host(network) AS host, masklen(network) AS bits FROM opslib.blocklist WHERE " + _ACTIVE
)
MAX_REASON = 500
_from_bytes, _pton, _AF_INET = int.from_bytes, socket.inet_pton, socket.AF_INET


def _v4_mark_python(marks: bytearray, ip: str) -> int:
    """The mark of a dotted-quad IPv4 address's /24 (see :meth:`AddressSet.v4_marks`), 3 for
    anything else."""
    try:
        return marks[_from_bytes(_pton(_AF_INET, ip), "big") >> 8]
    except (OSError, ValueError, TypeError):
        return 3


try:  # the same in one C call (the compiled helpers of opslib.security, when built)
    from opslib.security import _scan

    _v4_mark = _scan.v4_mark
except ImportError:
    _v4_mark = _v4_mark_python
_CACHE_ENTRIES = 65_536
_State = tuple[float, tuple[Any, ...], AddressSet, dict[str, bool], bytearray]
"""(expires, marker, networks, answers, IPv4 /24 marks): see :meth:`Blocklist.is_blocked`."""


class BlockRefused(UnsafeActionError):
    """A block refused: it would cut off the allowlist, the operator or legitimate traffic."""

    exit_code = 2


def parse_duration(text: str) -> timedelta:
    """``90m``, ``24h``, ``1h30m``, ``7d``, ``30s``; InputError otherwise."""
    given = text.strip()
    found = _DURATION.fullmatch(given)
    if not given or found is None or not any(found.groups()):
        raise InputError(f"{text!r}: not a duration (30s, 90m, 24h, 1h30m, 7d)")
    days, hours, minutes, seconds = (int(g or 0) for g in found.groups())
    length = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if length <= timedelta(0):
        raise InputError(f"{text!r}: a duration must be positive")
    return length


def _check_reason(reason: str) -> str:
    text = " ".join(reason.split())
    if not text:
        raise InputError("--reason: say why (it is kept with the block and in the audit log)")
    if len(text) > MAX_REASON:
        raise InputError(f"--reason: at most {MAX_REASON} characters ({len(text)} given)")
    return text


@dataclass(frozen=True)
class BlockEntry:
    """One row of the blocklist."""

    id: int
    network: Network
    reason: str
    actor: str
    created_at: datetime
    changed_at: datetime
    expires_at: datetime | None
    removed_at: datetime | None = None
    removed_by: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> BlockEntry:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})

    def active(self, now: datetime) -> bool:
        """Not removed and not expired at ``now``."""
        return self.removed_at is None and (self.expires_at is None or self.expires_at > now)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "id": self.id,
            "network": str(self.network),
            "reason": self.reason,
            "actor": self.actor,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "removed_at": self.removed_at.isoformat() if self.removed_at else None,
            "removed_by": self.removed_by,
        }


BlockAction = Literal["block", "extend", "keep", "unblock", "none"]


@dataclass(frozen=True)
class BlockPlan:
    """What ``block`` or ``unblock`` does (or did)."""

    action: BlockAction
    network: Network
    reason: str = ""
    expires_at: datetime | None = None
    entries: tuple[BlockEntry, ...] = ()

    @property
    def changes(self) -> bool:
        """Whether applying it changes anything."""
        return self.action in ("block", "extend", "unblock")

    def describe(self) -> str:
        """One line saying what it does."""
        until = f" until {_when(self.expires_at)}" if self.expires_at else " until unblocked"
        if self.action == "block":
            return f"block {self.network}{until}: {self.reason}"
        if self.action == "extend":
            return f"{self.network} is blocked already: expiry moves to{until[6:]}: {self.reason}"
        if self.action == "keep":
            return f"{self.network} is blocked already{until}: nothing to change"
        if self.action == "unblock":
            shown = ", ".join(str(e.network) for e in self.entries)
            return f"unblock {shown}"
        return f"{self.network} is not blocked: nothing to unblock"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "action": self.action,
            "changes": self.changes,
            "network": str(self.network),
            "reason": self.reason or None,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "entries": [e.as_dict() for e in self.entries],
            "summary": self.describe(),
        }


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M %Z").strip()


def protected_networks(settings: Settings) -> list[tuple[Network, str]]:
    """The networks no block may touch, each with why: ``security.allowlist``, the operators'
    addresses, and the platform's own hosts that are IP literals (Prometheus, metrics, the
    database), plus the unspecified and loopback-only host addresses they name."""
    found: list[tuple[Network, str]] = []
    sec = settings.security
    for item in sec.allowlist:
        found.append((ipaddress.ip_network(item.strip(), strict=False), "allowlisted"))
    for item in sec.operator_addresses:
        found.append((ipaddress.ip_network(item.strip(), strict=False), "an operator's address"))
    urls = [settings.prometheus_url, *settings.metrics_urls]
    for url in urls:
        host = urlsplit(url).hostname or ""
        try:
            found.append((ipaddress.ip_network(host), f"a platform host ({host})"))
        except ValueError:
            continue
    return found


def check_blockable(
    network: Network,
    protected: Sequence[tuple[Network, str]],
    *,
    own: Iterable[str] = (),
    legit: Mapping[str, int] | None = None,
    max_share: float = 0.05,
) -> None:
    """Refuse (BlockRefused) a block of everything, of a protected network or the operator's
    own address (``own``), or of a range holding more than ``max_share`` of the legitimate
    requests counted per address in ``legit``."""
    if network.prefixlen == 0:
        raise BlockRefused(f"refusing to block {network}: that is every address")
    for other, why in protected:
        if other.version == network.version and network.overlaps(other):
            raise BlockRefused(f"refusing to block {network}: it holds {other}, {why}")
    span = AddressSet.from_ranges([network_range(network)])
    for address in own:
        if address and address in span:
            raise BlockRefused(
                f"refusing to block {network}: it holds {address}, your own address"
                " (the database sees you connect from it)"
            )
    if legit:
        total = sum(legit.values())
        cut = sum(n for ip, n in legit.items() if ip in span)
        if total and cut / total > max_share:
            raise BlockRefused(
                f"refusing to block {network}: it would cut off {cut / total:.0%} of recent"
                f" legitimate requests ({cut} of {total}; security.max_legit_share"
                f" {max_share:.0%}); block the suspect addresses one by one"
            )


def plan_block(
    entries: Sequence[BlockEntry],
    network: Network,
    *,
    reason: str,
    expires_at: datetime | None,
) -> BlockPlan:
    """Block ``network`` unless an unremoved entry for it exists: then keep it, or move its
    expiry when another is asked (pure)."""
    text = _check_reason(reason)
    same = next((e for e in entries if e.network == network and e.removed_at is None), None)
    if same is None:
        return BlockPlan("block", network, text, expires_at)
    if same.expires_at != expires_at or same.reason != text:
        return BlockPlan("extend", network, text, expires_at, (same,))
    return BlockPlan("keep", network, text, expires_at, (same,))


def plan_unblock(entries: Sequence[BlockEntry], network: Network) -> BlockPlan:
    """Remove the unremoved entry for ``network`` (pure)."""
    same = tuple(e for e in entries if e.network == network and e.removed_at is None)
    return BlockPlan("unblock" if same else "none", network, entries=same)


class Blocklist:
    """The blocklist in the ``opslib`` schema of ``db``.

    ``is_blocked`` is cheap and thread-safe (give the Blocklist a :class:`Database` of its own:
    the refresh uses its connection); ``clock`` is injectable for tests. While the database
    cannot be read, the last networks read stay in force.
    """

    def __init__(
        self,
        db: Database,
        settings: SecuritySettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self.settings = settings if settings is not None else SecuritySettings()
        self._clock = clock
        self._ttl = self.settings.cache_seconds
        # (expires, marker, set, answers, IPv4 /24 marks), replaced whole: a reader never
        # sees half an update.
        empty = AddressSet()
        self._state: _State = (float("-inf"), (), empty, {}, empty.v4_marks())
        self._lock = threading.Lock()
        self._failing: str | None = None

    @property
    def database(self) -> Database:
        """The database the blocklist lives in."""
        return self._db

    # the API's side

    def is_blocked(self, ip: str) -> bool:
        """Whether the address ``ip`` (text) lies in an active entry; from memory, read at
        most once per ``cache_seconds``. Not an address: False."""
        state = self._state
        if self._clock() >= state[0]:
            state = self._refresh()
        mark = _v4_mark(state[4], ip)  # IPv4, the common case: its /24's mark answers
        if mark < 2:
            return mark == 1
        return self._cached(ip, state)  # a split /24, IPv6, or not an address

    @staticmethod
    def _cached(ip: str, state: _State) -> bool:
        """IPv6 (and IPv4-mapped) addresses, IPv4 ones in a split /24, or not an address at
        all (False): bisected, the answer kept in the snapshot's bounded cache."""
        answers = state[3]
        found = answers.get(ip)
        if found is None:
            key = address_key(ip)
            found = key is not None and state[2].contains_key(key)
            if len(answers) >= _CACHE_ENTRIES:
                answers.clear()
            answers[ip] = found
        return found

    def networks(self) -> AddressSet:
        """The active networks as the cache holds them (refreshed when due)."""
        state = self._state
        if self._clock() >= state[0]:
            state = self._refresh()
        return state[2]

    def invalidate(self) -> None:
        """Forget the cached answer: the next ``is_blocked`` asks the database."""
        self._state = (float("-inf"), (), *self._state[2:])

    @property
    def unreachable(self) -> str | None:
        """Why the last read failed (the last networks read stay in force), or None."""
        return self._failing

    def _refresh(self) -> _State:
        with self._lock:
            state = self._state
            if self._clock() < state[0]:
                return state
            try:
                row = self._db.fetch_one(_MARKER)
                assert row is not None
                marker = (row["n"], row["changed"], row["next_expiry"])
                if marker != state[1]:
                    ranges = [_row_range(r) for r in self._db.fetch_all(_LOAD)]
                    networks = AddressSet.from_ranges(ranges)
                    state = (0.0, marker, networks, {}, networks.v4_marks())
            except OpsError as exc:
                if self._failing is None:
                    _log.warning("blocklist unreadable, the last one read stays: %s", exc)
                self._failing = str(exc)
            else:
                if self._failing is not None:
                    _log.warning("blocklist readable again")
                self._failing = None
            self._state = (self._clock() + self._ttl, *state[1:])
            return self._state

    # the operators' side

    def entries(self, *, include_removed: bool = False) -> list[BlockEntry]:
        """Every unremoved entry (expired ones too), oldest first; with ``include_removed``,
        the history as well."""
        where: LiteralString = "TRUE" if include_removed else "removed_at IS NULL"
        rows = self._db.fetch_all(
            "SELECT " + _COLUMNS + " FROM opslib.blocklist WHERE " + where + " ORDER BY id"
        )
        return [BlockEntry.from_row(r) for r in rows]

    def now(self) -> datetime:
        """The database's clock."""
        row = self._db.fetch_one("SELECT now() AS now")
        assert row is not None
        return row["now"]  # type: ignore[no-any-return]

    def operator_address(self) -> str | None:
        """The address the database sees this connection come from (None over a socket)."""
        row = self._db.fetch_one("SELECT host(inet_client_addr()) AS ip")
        return row["ip"] if row and row["ip"] else None

    def plan_block(self, target: str, *, reason: str, length: timedelta | None) -> BlockPlan:
        """What :meth:`block` would do (reads only)."""
        network = parse_network(target)
        expires = self.now() + length if length is not None else None
        return plan_block(self.entries(), network, reason=reason, expires_at=expires)

    def block(
        self, target: str, *, reason: str, length: timedelta | None, actor: str | None = None
    ) -> BlockPlan:
        """Block ``target`` (an address or CIDR) for ``length`` (None: until unblocked), under
        the advisory lock. Idempotent: blocking it again moves its expiry and reason. The
        refusals are the caller's (:func:`check_blockable`) so that a dry run shows them too."""
        network = parse_network(target)
        db = self._db
        with db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            expires = self.now() + length if length is not None else None
            plan = plan_block(self.entries(), network, reason=reason, expires_at=expires)
            if plan.action == "block":
                # an expired-but-unremoved entry of another network does not matter here
                db.execute(
                    "INSERT INTO opslib.blocklist (network, reason, actor, expires_at)"
                    " VALUES (%s, %s, %s, %s)",
                    (str(network), plan.reason, actor or current_actor(), expires),
                )
            elif plan.action == "extend":
                db.execute(
                    "UPDATE opslib.blocklist SET expires_at = %s, reason = %s, actor = %s,"
                    " created_at = least(created_at, now()), changed_at = clock_timestamp()"
                    " WHERE id = %s",
                    (expires, plan.reason, actor or current_actor(), plan.entries[0].id),
                )
        self.invalidate()
        return plan

    def plan_unblock(self, target: str) -> BlockPlan:
        """What :meth:`unblock` would do (reads only)."""
        return plan_unblock(self.entries(), parse_network(target))

    def unblock(self, target: str, *, actor: str | None = None) -> BlockPlan:
        """Remove the entry for exactly ``target`` (kept as history), under the advisory lock."""
        network = parse_network(target)
        db = self._db
        with db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            plan = plan_unblock(self.entries(), network)
            if plan.changes:
                db.execute(
                    "UPDATE opslib.blocklist SET removed_at = now(), removed_by = %s,"
                    " changed_at = clock_timestamp() WHERE id = ANY(%s)",
                    (actor or current_actor(), [e.id for e in plan.entries]),
                )
        self.invalidate()
        return plan


def _row_range(row: Mapping[str, Any]) -> tuple[int, int]:
    host, bits = row["host"], int(row["bits"])
    if ":" in host:
        return network_range(ipaddress.IPv6Network((host, bits)))
    value = int.from_bytes(socket.inet_aton(host), "big")
    span = (1 << (32 - bits)) - 1
    return value, value | span
