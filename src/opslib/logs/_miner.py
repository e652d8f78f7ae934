"""The online template miner: Drain's fixed-depth tree over masked tokens, with an exact cache.

Each record's message (its header removed, its variable parts masked) is split into tokens;
records of the same length whose first token (or ``<*>``) is the same are candidates, and the
candidate template sharing the most constant tokens (a token with a ``<*>`` in it is not one),
at least ``logs.similarity`` of them, takes the
record (differing positions become ``<*>``); otherwise the record starts a pattern. A masked
message seen before goes straight to its pattern (a dict lookup). Memory stays bounded: at most
``logs.max_templates`` patterns (the rarest tenth merge into one ``other`` pattern when full),
``logs.max_tokens`` tokens and ``logs.max_line_chars`` characters per line, and a bounded cache.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from opslib.config import LogSettings
from opslib.logs._header import HeaderParser
from opslib.logs._mask import WILDCARD, domains_in, mask
from opslib.logs._text import clean_line, is_continuation, traceback_end
from opslib.logs._time import parse_log_time
from opslib.redact import redact

__all__ = ["OTHER_ID", "Pattern", "PatternMiner"]

OTHER_ID = 0
"""The id of the ``other`` pattern, where the rarest patterns go when the cap is reached."""
_OTHER_TEMPLATE = "<other>"
_EXAMPLE_CHARS = 500
_MAX_DOMAINS = 20
_CACHE_SIZE = 20_000
_MAX_SOURCES = 10_000
_SLACK = timedelta(days=1)  # a yearless time further ahead than this is last year's
_ERROR_WORDS = (
    "error", "exception", "fail", "fatal", "critical", "panic", "traceback", "refused",
    "denied", "timed out", "timeout", "unreachable", "abort",
)  # fmt: skip


@dataclass(frozen=True)
class Pattern:
    """One message template: ``<*>`` where the lines differ; how many records it matched, their
    share of all, when it was first and last seen, one example line (credentials masked), the
    domains its lines name, and whether it looks like an error (level or wording)."""

    id: int
    template: str
    count: int
    share: float
    first_seen: datetime
    last_seen: datetime
    example: str
    domains: tuple[str, ...]
    is_error: bool


class _Cluster:
    __slots__ = (
        "alive", "count", "domains", "error", "example", "first", "first_at", "id", "last",
        "last_at", "tokens",
    )  # fmt: skip

    def __init__(self, ident: int, tokens: list[str], example: str, stamp: object, at: float):
        self.id = ident
        self.tokens = tokens
        self.count = 0
        self.example = example[:_EXAMPLE_CHARS]
        self.first = self.last = stamp
        self.first_at = self.last_at = at
        self.domains: set[str] = set()
        self.error = False
        self.alive = True


class PatternMiner:
    """Mines message templates from log lines as they arrive (:meth:`add`), in bounded memory.

    ``clock`` gives the arrival time of lines without a time of their own (seconds since the
    epoch); ``year`` completes header times that have none (syslog's ``Jun 14 15:16:01``).
    ``lines`` counts the lines added, ``records`` the records among them (a stack trace's lines
    are one record).
    """

    def __init__(
        self,
        settings: LogSettings | None = None,
        *,
        clock: Callable[[], float] = time.time,
        year: int | None = None,
    ) -> None:
        self.settings = settings or LogSettings()
        self._clock = clock
        self._year = year or datetime.now(UTC).year
        self._parse = HeaderParser(self.settings.header_pattern).parse
        self._line_chars = self.settings.max_line_chars
        self._groups: dict[tuple[int, str], list[_Cluster]] = {}
        self._clusters: dict[int, _Cluster] = {}
        self._cache: dict[str, _Cluster] = {}
        # source -> (its last record, inside a Python traceback, that record had a header)
        self._previous: dict[str, tuple[_Cluster, bool, bool]] = {}
        self._other = _Cluster(OTHER_ID, [_OTHER_TEMPLATE], "", None, 0.0)
        self._other.alive = False
        self._next_id = 1
        self.records = 0
        self.lines = 0

    def add(self, line: str | bytes, *, source: str = "", at: datetime | None = None) -> int:
        """Mine one line; return the id of its pattern. A continuation line (a stack trace's
        frame, ``Caused by:``, an indented line) joins the record before it from ``source``."""
        text = clean_line(line, self._line_chars)
        self.lines += 1
        previous = self._previous.get(source)
        if previous is not None:
            record, in_traceback, had_header = previous
            ends = (in_traceback or had_header) and traceback_end(text)
            if ends or is_continuation(text):
                still = in_traceback and not ends
                self._previous[source] = (record, still or text.startswith("Traceback"), had_header)
                return record.id
        header = self._parse(text)
        masked = mask(header.message)
        cluster = self._cache.get(masked)
        if cluster is None or not cluster.alive:
            cluster = self._match(masked, text, header.is_error)
        stamp: object = at if at is not None else header.time
        now = self._clock() if stamp is None else 0.0
        if cluster.count == 0:
            cluster.first, cluster.first_at = stamp, now
        cluster.count += 1
        cluster.last, cluster.last_at = stamp, now
        if ("://" in text or "domain=" in text) and len(cluster.domains) < _MAX_DOMAINS:
            cluster.domains.update(domains_in(text)[:_MAX_DOMAINS])
        self.records += 1
        if len(self._previous) >= _MAX_SOURCES and source not in self._previous:
            self._previous.clear()
        self._previous[source] = (cluster, text.startswith("Traceback"), header.time is not None)
        return cluster.id

    def add_all(self, lines: Iterable[str | bytes]) -> list[int]:
        """Mine every line; the pattern id of each, in order."""
        return [self.add(line) for line in lines]

    def _match(self, masked: str, text: str, error_level: bool) -> _Cluster:
        tokens = masked.split()
        limit = self.settings.max_tokens
        if len(tokens) > limit:
            tokens = [*tokens[: limit - 1], WILDCARD]
        first = tokens[0] if tokens and WILDCARD not in tokens[0] else WILDCARD
        key = (len(tokens), first)
        group = self._groups.setdefault(key, [])
        best = None
        best_sim = self.settings.similarity
        size = len(tokens) or 1
        for candidate in group:
            if candidate.tokens == tokens:  # all-variable and empty messages too
                best = candidate
                break
            same = 0
            for mine, theirs in zip(candidate.tokens, tokens, strict=True):
                if mine == theirs and WILDCARD not in mine:
                    same += 1
            sim = same / size
            if sim >= best_sim and (best is None or sim > best_sim):
                best, best_sim = candidate, sim
        if best is None:
            best = self._new_cluster(tokens, text, group)
        elif best.tokens != tokens:
            best.tokens = [
                a if a == b else WILDCARD for a, b in zip(best.tokens, tokens, strict=True)
            ]
        best.error = best.error or error_level or _looks_like_error(masked)
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.clear()
        self._cache[masked] = best
        return best

    def _new_cluster(self, tokens: list[str], text: str, group: list[_Cluster]) -> _Cluster:
        if len(self._clusters) >= self.settings.max_templates:
            self._merge_rarest()
        cluster = _Cluster(self._next_id, tokens, text, None, 0.0)
        self._next_id += 1
        self._clusters[cluster.id] = cluster
        group.append(cluster)
        return cluster

    def _merge_rarest(self) -> None:
        """Fold the rarest tenth of the patterns into ``other``."""
        ranked = sorted(self._clusters.values(), key=lambda c: (c.count, -c.id))
        other = self._other
        for cluster in ranked[: max(1, len(ranked) // 10)]:
            cluster.alive = False
            del self._clusters[cluster.id]
            if other.count == 0:
                other.first, other.first_at = cluster.first, cluster.first_at
                other.example = cluster.example
            other.count += cluster.count
            other.last, other.last_at = cluster.last, cluster.last_at
            other.error = other.error or cluster.error
            if len(other.domains) < _MAX_DOMAINS:
                other.domains.update(cluster.domains)
        for key, group in list(self._groups.items()):
            kept = [c for c in group if c.alive]
            if kept:
                self._groups[key] = kept
            else:
                del self._groups[key]
        self._previous = {
            source: (record if record.alive else other, in_traceback, had_header)
            for source, (record, in_traceback, had_header) in self._previous.items()
        }  # a trace still going on joins "other" with its record

    def patterns(self) -> list[Pattern]:
        """Every pattern (the ``other`` one too, when the cap merged some), most frequent
        first."""
        total = self.records or 1
        found = [*self._clusters.values()]
        if self._other.count:
            found.append(self._other)
        found.sort(key=lambda c: (-c.count, c.id))
        return [self._pattern(c, total) for c in found if c.count]

    def _pattern(self, cluster: _Cluster, total: int) -> Pattern:
        first = self._moment(cluster.first, cluster.first_at)
        last = self._moment(cluster.last, cluster.last_at)
        return Pattern(
            id=cluster.id,
            template=" ".join(cluster.tokens),
            count=cluster.count,
            share=cluster.count / total,
            first_seen=min(first, last),
            last_seen=max(first, last),
            example=redact(cluster.example),
            domains=tuple(sorted(cluster.domains)),
            is_error=cluster.error,
        )

    def _moment(self, stamp: object, at: float) -> datetime:
        if isinstance(stamp, datetime):
            return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
        if isinstance(stamp, str):
            parsed = parse_log_time(stamp, self._year)
            if parsed is not None and parsed > datetime.now(UTC) + _SLACK:
                parsed = parse_log_time(stamp, self._year - 1)  # syslog's December, in January
            if parsed is not None:
                return parsed
        return datetime.fromtimestamp(at or self._clock(), UTC)


def _looks_like_error(message: str) -> bool:
    lower = message.lower()
    return any(word in lower for word in _ERROR_WORDS)
