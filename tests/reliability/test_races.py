"""Concurrent ``opslib proxies update`` runs, as real processes (issue 9, item 4).

Each race's end state is compared with what running the same updates one after the other gives,
in every order: a correct pool equals one of those serial results exactly (URL, source, state),
and every process exits 0.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from opslib.proxies import ProxyPool, apply_import, plan_import, read_proxy_list
from opslib.proxies._update import IMPORT_LOCK
from tests.dbkit import TestDatabase
from tests.support import wait_until

State = dict[str, tuple[str, str]]
"""url -> (source, state)."""
ROUNDS = 3  # the unfixed code deadlocked in every one of 5 such rounds (docs/reliability.md)


@dataclass(frozen=True)
class _List:
    path: Path
    urls: tuple[str, ...]

    @property
    def source(self) -> str:
        return self.path.name


def _urls(first: int, count: int, octet: int) -> list[str]:
    return [f"http://10.{octet}.{n // 250}.{n % 250 + 1}:3128" for n in range(first, first + count)]


def _write(path: Path, urls: Sequence[str]) -> _List:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(u.removeprefix("http://") + "\n" for u in urls))
    return _List(path, tuple(urls))


def _serial(start: State, lists: Sequence[_List]) -> State:
    """What importing ``lists`` one after the other does to ``start`` (the documented rules)."""
    state = dict(start)
    for listed in lists:
        urls = set(listed.urls)
        for url in listed.urls:
            old = state.get(url)
            state[url] = (listed.source, "active" if old is None or old[1] == "retired" else old[1])
        for url, (source, st) in list(state.items()):
            if source == listed.source and url not in urls and st != "retired":
                state[url] = (source, "retired")
    return state


def _pool(db: TestDatabase) -> State:
    rows = db.fetch_all("SELECT url, source, state FROM opslib.proxies")
    return {r["url"]: (r["source"], r["state"]) for r in rows}


def _env(db: TestDatabase) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSLIB_")}
    env["OPSLIB_DATABASE_DSN"] = db.dsn
    return env


def _waiting_for_import_lock(db: TestDatabase) -> int:
    row = db.fetch_one(
        "SELECT count(*) AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
        " WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()"
    )
    return int(row["n"]) if row else 0


def _race(db: TestDatabase, lists: Sequence[_List], cwd: Path) -> list[tuple[int, str]]:
    """Start one ``opslib proxies update`` per list at once; the lock is held until every one
    is waiting for it, so all of them planned before any wrote (the lost-update window)."""
    holder = TestDatabase(db.dsn)
    with holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (IMPORT_LOCK,))
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "opslib.cli", "proxies", "update", str(item.path)],
                env=_env(db),
                cwd=cwd,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for item in lists
        ]
        try:
            wait_until(
                lambda: _waiting_for_import_lock(db) == len(procs), 40, "every update waiting"
            )
        finally:
            holder.execute("SELECT pg_advisory_unlock(%s)", (IMPORT_LOCK,))
        outputs = [p.communicate(timeout=60) for p in procs]
    return [(p.returncode, err) for p, (_out, err) in zip(procs, outputs, strict=True)]


def _matches_a_serial_order(start: State, lists: Sequence[_List], end: State) -> bool:
    return any(end == _serial(start, order) for order in itertools.permutations(lists))


@pytest.mark.timeout(120)
def test_four_overlapping_updates_one_reversed_end_as_some_serial_order(
    platform_db: TestDatabase, tmp_path: Path
) -> None:
    """The deadlock race: four sources over shared URLs, one list in reverse order; the pool
    already holds older versions of each list, so the updates also retire."""
    n = 2000
    spans = {"a.txt": 0, "b.txt": n // 2, "c.txt": n, "d.txt": n // 2}
    for round_ in range(ROUNDS):
        octet = 100 + round_
        old = [_write(tmp_path / f"r{round_}" / "old" / s, _urls(at + n // 4, n, octet))
               for s, at in spans.items()]  # fmt: skip
        pool = ProxyPool(platform_db)
        for item in old:  # one after the other: the starting pool
            apply_import(pool, plan_import(pool, [read_proxy_list(str(item.path))]))
        new = []
        for source, at in spans.items():
            urls = _urls(at, n, octet)
            new.append(_write(tmp_path / f"r{round_}" / "new" / source,
                              urls[::-1] if source == "d.txt" else urls))  # fmt: skip
        start = _pool(platform_db)
        results = _race(platform_db, new, tmp_path)
        assert [code for code, _err in results] == [0, 0, 0, 0], results
        end = _pool(platform_db)
        assert _matches_a_serial_order(start, new, end), round_
        assert any(st == "retired" for _src, st in end.values())
        platform_db.execute("DELETE FROM opslib.proxies")


@pytest.mark.timeout(60)
def test_two_updates_of_the_same_source_lose_nothing(
    platform_db: TestDatabase, tmp_path: Path
) -> None:
    """The lost-update race: two files named list.txt, 20k lines each, 10k shared. Either
    serial order ends with 20,000 active and 10,000 retired."""
    everything = _urls(0, 30_000, 200)
    first = _write(tmp_path / "one" / "list.txt", everything[:20_000])
    second = _write(tmp_path / "two" / "list.txt", everything[10_000:])
    results = _race(platform_db, [first, second], tmp_path)
    assert [code for code, _err in results] == [0, 0], results
    end = _pool(platform_db)
    states = sorted(st for _src, st in end.values())
    assert (states.count("active"), states.count("retired")) == (20_000, 10_000)
    assert end in (_serial({}, [first, second]), _serial({}, [second, first]))
