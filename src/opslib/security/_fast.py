"""A faster analyzer: the same features as :class:`~opslib.security._analysis.Analyzer`, with
the per-path work of a regular combined-format chunk moved into C-level calls.

The reference counts per distinct (client, user, path, status), which on an API log is nearly
one Python iteration per line (paths carry ids and keys). Here a chunk's columns are counted
per (client, status), per (client, bare path) and per (key, status); the probe expression runs
once over the chunk's joined paths (a path has no whitespace, so no match crosses a line) and
only the lines it finds are judged exactly; keys come from one expression over the joined paths
that yields one entry per line. Chunks the columnar cut refuses take the reference's way.

Where the compiled scanner (``_scan.c``, built at install when a C compiler is present) is
importable, it takes every regular combined-format chunk first: one pass in C over the lines,
then one update per distinct client, minute, path and key of the chunk (see :data:`COMPILED`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import compress, repeat
from operator import itemgetter, ne, or_
from typing import Any

from opslib.security._analysis import (
    _KEY_PARAM,
    _PLAIN,
    _TOOLS,
    _UNUSUAL,
    SAMPLES_KEPT,
    Analysis,
    Analyzer,
    Policy,
    _Stats,
    fingerprint,
    no_collection,
)
from opslib.security._columns import cut
from opslib.security._parse import CHUNK, Record, parse_chunk

try:
    from opslib.security import _scan

    COMPILED = True
except ImportError:  # no C compiler at install: the Python columnar way alone
    COMPILED = False

__all__ = ["COMPILED", "FastAnalyzer"]

"""Whether the compiled per-line pass is in use."""

_MINUTE = slice(1, 18)  # as in _columns
_SECOND = slice(19, 21)
_ZONE = slice(0, 5)
_PATHS_KEPT = 256
_HEAD = itemgetter(0)

# The joined paths that are not plain (_PLAIN: query values of plain words), whole.
_NOT_PLAIN = re.compile(rb"^(?!" + _PLAIN.pattern + rb"$)[^\n]*$", re.MULTILINE)
# One entry per line: the first key in the query, as _KEY_PARAM.search finds it, or b"".
_KEY_LINES = re.compile(
    rb"^(?:[^\n]*?" + _KEY_PARAM.pattern + rb")?[^\n]*$", _KEY_PARAM.flags | re.MULTILINE
)


_TOOL_VERDICTS: dict[bytes, bool] = {}


def _found(cache: dict[bytes, bool], pattern: re.Pattern[bytes], text: bytes, most: int) -> bool:
    """Whether ``pattern`` is found in ``text``, remembered in ``cache`` (emptied past ``most``)."""
    verdict = cache.get(text)
    if verdict is None:
        if len(cache) > most:
            cache.clear()
        verdict = cache[text] = pattern.search(text) is not None
    return verdict


def _is_tool(agent: bytes) -> bool:
    """Whether a user agent names an attack tool (cached: a fleet has few agents)."""
    return _found(_TOOL_VERDICTS, _TOOLS, agent, 65_536)


class FastAnalyzer(Analyzer):
    """:class:`~opslib.security._analysis.Analyzer` with a faster way for regular
    combined-format chunks; the results are the same (see tests/security/test_analysis_fast.py)."""

    compiled: bool = COMPILED
    chunk_size: int = 32 * 1024 * 1024 if COMPILED else CHUNK
    """The compiled way merges once per distinct client of a chunk: larger chunks cost less
    per line (32 MB: two in memory at a time, one parsed, one merged)."""

    # The scan releases the GIL: one worker thread parses the next chunk while this one
    # merges the last (one thread for every chunk, so its allocations are reused). Made on
    # the first chunk; the class-level None stands until then.
    _pool: ThreadPoolExecutor | None = None
    _parsing: tuple[bytes, Future[_scan.Parsed | None]] | None = None

    def feed_chunk(self, chunk: bytes) -> None:
        """Count a chunk of whole lines (as :meth:`Analyzer.feed_chunk`). With the compiled
        scanner the chunk is parsed in a thread and merged at the next call (or :meth:`flush`)."""
        if not self.compiled or len(self._refused) != 3:  # the scanner knows 3-digit statuses
            self._python(chunk)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opslib-log-scan")
        parsing = self._pool.submit(_scan.parse, chunk, self._since, self._refused)
        self.flush()
        self._parsing = (chunk, parsing)

    def flush(self) -> None:
        """Merge the chunk still being parsed (a parse error is raised here); :meth:`result`
        does it too."""
        pending, self._parsing = self._parsing, None
        if pending is not None:
            chunk, parsing = pending
            parsed = parsing.result()
            if parsed is None:
                self._python(chunk)
            else:
                self._merge(parsed)

    def close(self) -> None:
        """Merge what is pending and stop the parsing thread (:meth:`result` does it too)."""
        self.flush()
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def feed(self, records: Sequence[Record], lines: int) -> None:
        """As :meth:`Analyzer.feed`, after the chunk being parsed (order matters for bursts)."""
        self.flush()
        super().feed(records, lines)

    def result(
        self, policy: Policy, sources: Sequence[str] = (), notes: Sequence[str] = ()
    ) -> Analysis:
        """As :meth:`Analyzer.result`, with every chunk merged."""
        self.close()
        return super().result(policy, sources, notes)

    def _python(self, chunk: bytes) -> None:
        if not self._fast(chunk):
            self.feed(*parse_chunk(chunk))

    def _merge(self, parsed: _scan.Parsed) -> None:
        """Merge the compiled scanner's counts of a chunk into the clients' stats."""
        with no_collection():  # new clients' sets and dicts: thousands, none of them garbage
            lines, low, high, odd = parsed.merge(
                self.ips, self._new_ip, self._judge, self._key_stats, _is_tool
            )
        self.lines += lines
        self.parsed += lines
        if self._start is None or low < self._start:
            self._start = low
        if self._end is None or high > self._end:
            self._end = high
        for st, path, status in odd:
            st.unusual += 1
            if status[0] == 50:  # 2xx: the probe got an answer
                st.sensitive_ok += 1
            sample = path[:200]
            if len(st.samples) < SAMPLES_KEPT and sample not in st.samples:
                st.samples.append(sample)

    def _judge(self, part: bytes, plain: bool) -> bool:
        """Whether a bare path (``plain``: its query values are plain words) or a whole path
        is a probe, as :meth:`Analyzer._probe` judges it; cached."""
        return _found(self._bare_verdicts if plain else self._unusual, _UNUSUAL, part, 200_000)

    def _key_stats(self, raw: bytes, ip_st: _Stats) -> tuple[bytes, _Stats] | None:
        """The fingerprint and stats of a key met with ``ip_st``'s client (made at its first
        client), or None past ``max_clients`` keys."""
        fps = self._fingerprints
        fp = fps.get(raw)
        if fp is None:
            if len(fps) > 200_000:
                fps.clear()
            fp = fps[raw] = fingerprint(raw).encode()
        st = self.keys.get(fp)
        if st is None:
            if len(self.keys) >= self._max:
                return None
            st = self.keys[fp] = _Stats(ip_st.first)
            st.cur = ip_st.cur
        return fp, st

    def _fast(self, chunk: bytes) -> bool:
        found_cut = cut(chunk)
        if found_cut is None:
            return False
        ips, users, stamps, zone_column, statuses, paths, agents = found_cut
        lines = len(ips)
        # Each line's time by its stamp (one zone in the chunk, the usual case) or its stamp and
        # zone; each distinct one read once: (minute, zone, second) as the reference cuts them.
        keys: list[Any]  # bytes, or (bytes, bytes)
        times: dict[Any, tuple[bytes, bytes, bytes]]
        if zone_column.count(zone_column[0]) == lines:
            zone = zone_column[0][_ZONE]
            keys = stamps
            times = {k: (k[_MINUTE], zone, k[_SECOND]) for k in set(stamps)}
        else:
            keys = list(zip(stamps, zone_column, strict=True))
            times = {k: (k[0][_MINUTE], k[1][_ZONE], k[0][_SECOND]) for k in set(keys)}
        minute_of = self._minute_of
        epoch = {k: minute_of(m, z) for k, (m, z, _s) in times.items()}
        first = epoch[keys[0]]
        if first is None or first < self._since:
            return False
        joined = b"\n".join(paths)
        found: list[bytes] = _KEY_LINES.findall(joined)
        if len(found) != lines:
            return False
        self.lines += lines
        self.parsed += lines
        self._minutes_fast(ips, keys, times, epoch)
        self._requests(Counter(zip(ips, statuses, strict=True)))
        bares = list(map(_HEAD, map(bytes.partition, paths, repeat(b"?"))))
        self._bare_paths(dict.fromkeys(zip(ips, bares, strict=True)))
        self._probes(joined, ips, paths, bares, statuses)
        if users.count(b"-") == lines:
            raws = found
        else:
            raws = [u if u != b"-" else f for u, f in zip(users, found, strict=True)]
        self._keys(raws, ips, statuses)
        self._merge_agents(Counter(zip(ips, agents, strict=True)))
        # the epoch second of the last line per client answered without refusal (the
        # reference's: the last, not the latest)
        second_of = {
            k: t * 60 + int(times[k][2]) if t is not None and times[k][2].isdigit() else None
            for k, t in epoch.items()
        }
        served = dict(
            compress(
                zip(ips, map(second_of.__getitem__, keys), strict=True),
                map(ne, statuses, repeat(self._refused)),
            )
        )
        get, ips_of = self._get, self.ips
        for ip, second in served.items():
            st = ips_of.get(ip) or get(ip)
            if second is not None and second > st.last_ok:
                st.last_ok = second
        return True

    def _minutes_fast(
        self,
        ips: list[bytes],
        keys: list[Any],
        times: dict[Any, tuple[bytes, bytes, bytes]],
        epoch: dict[Any, int | None],
    ) -> None:
        """The reference's per-(client, minute, zone) merge with each line's epoch minute
        (when no two (minute, zone) of the chunk are the same epoch minute; else the
        reference's own)."""
        minute_zone = {times[k][:2]: t for k, t in epoch.items()}
        known = [t for t in minute_zone.values() if t is not None]
        if len(set(known)) != len(known):
            minutes = [times[k][0] for k in keys]
            zones = [times[k][1] for k in keys]
            self._merge_minutes(Counter(zip(ips, minutes, zones, strict=True)))
            return
        if known:
            low, high = min(known), max(known)
            if self._start is None or low < self._start:
                self._start = low
            if self._end is None or high > self._end:
                self._end = high
        ips_of = self.ips
        per_minute = Counter(zip(ips, map(epoch.__getitem__, keys), strict=True))
        for (ip, t), n in per_minute.items():
            if t is None:
                continue
            st = ips_of.get(ip)
            if st is None:
                st = self._new_ip(ip, t)
            if t > st.cur:
                st.close_minute(t)
            st.last = max(st.last, t)
            st.cur_n += n

    def _requests(self, per_status: Counter[tuple[bytes, bytes]]) -> None:
        get, ips = self._get, self.ips
        for (ip, status), n in per_status.items():
            st = ips.get(ip) or get(ip)
            st.requests += n
            if status[0] >= 52:
                st.errors += n
                if status in (b"401", b"403"):
                    st.auth += n

    def _bare_paths(self, pairs: dict[tuple[bytes, bytes], None]) -> None:
        get, ips = self._get, self.ips
        for ip, bare in pairs:
            st = ips.get(ip) or get(ip)
            if not st.paths_over and bare not in st.paths:
                if len(st.paths) >= _PATHS_KEPT:
                    st.paths_over = True
                else:
                    st.paths.add(bare)

    def _probes(
        self,
        joined: bytes,
        ips: list[bytes],
        paths: list[bytes],
        bares: list[bytes],
        statuses: list[bytes],
    ) -> None:
        verdicts = self._bare_verdicts
        if len(verdicts) > 200_000:
            verdicts.clear()
        for bare in set(bares).difference(verdicts):
            verdicts[bare] = _UNUSUAL.search(bare) is not None
        odd_bares = {bare for bare in set(bares) if verdicts[bare]}
        cache = self._unusual
        odd_other = set()
        for path in set(_NOT_PLAIN.findall(joined)):
            verdict = cache.get(path)
            if verdict is None:
                verdict = self._probe(path)
            if verdict:
                odd_other.add(path)
        if not odd_bares and not odd_other:
            return
        flags = map(or_, map(odd_bares.__contains__, bares), map(odd_other.__contains__, paths))
        get = self._get
        for ip, path, status in compress(zip(ips, paths, statuses, strict=True), flags):
            verdict = cache.get(path)
            if verdict is None:
                verdict = self._probe(path)
            if not verdict:
                continue
            st = get(ip)
            st.unusual += 1
            if status[0] == 50:
                st.sensitive_ok += 1
            sample = path[:200]
            if len(st.samples) < SAMPLES_KEPT and sample not in st.samples:
                st.samples.append(sample)

    def _keys(self, raws: list[bytes], ips: list[bytes], statuses: list[bytes]) -> None:
        if not any(raws):
            return
        keyed_raws = list(compress(raws, raws))
        keyed_ips = list(compress(ips, raws))
        keyed_statuses = list(compress(statuses, raws))
        fps = self._fingerprints
        if len(fps) > 200_000:
            fps.clear()
        keys, get, limit, ip_stats = self.keys, self._get, self._max, self.ips
        skipped: set[bytes] = set()
        for raw, ip in dict.fromkeys(zip(keyed_raws, keyed_ips, strict=True)):
            fp = fps.get(raw)
            if fp is None:
                fp = fps[raw] = fingerprint(raw).encode()
            ip_st = ip_stats.get(ip) or get(ip)
            st = keys.get(fp)
            if st is None:
                if fp in skipped or len(keys) >= limit:
                    skipped.add(fp)
                    continue
                st = keys[fp] = _Stats(ip_st.first)
                st.cur = ip_st.cur
            st.last = max(st.last, ip_st.last)
            if len(st.others) < 64:
                st.others.add(ip)
            if len(ip_st.others) < 64:
                ip_st.others.add(fp)
        for (raw, status), n in Counter(zip(keyed_raws, keyed_statuses, strict=True)).items():
            fp = fps.get(raw) or fingerprint(raw).encode()
            if fp in skipped:
                continue
            st = keys[fp]
            st.requests += n
            if status[0] >= 52:
                st.errors += n
                if status in (b"401", b"403"):
                    st.auth += n
