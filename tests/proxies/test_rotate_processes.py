"""``opslib proxies rotate`` applied, from real processes: one rotation at a time, minimums kept."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from opslib.adapters import Database
from opslib.proxies import ProxyPool, ProxyState, parse_proxy_url
from tests.dbkit import TestDatabase
from tests.support import wait_until

REQUIRED = {"de": 2, "fr": 1, "us": 1}


def _seed(db: TestDatabase) -> ProxyPool:
    """de: 3 active, all failing, 1 healthy reserve; fr: its only active proxy failing, no
    reserve; us: 1 failing and 1 good active, 1 reserve."""
    pool = ProxyPool(db)
    active = [("de", 1), ("de", 2), ("de", 3), ("fr", 4), ("us", 5), ("us", 6)]
    reserve = [("de", 7), ("us", 8)]
    pool.upsert(parse_proxy_url(f"10.9.0.{n}:3128", country=c) for c, n in active)
    pool.upsert(
        (parse_proxy_url(f"10.9.0.{n}:3128", country=c) for c, n in reserve), ProxyState.RESERVE
    )
    failing = [f"http://10.9.0.{n}:3128" for n in (1, 2, 3, 4, 5)]
    db.execute("UPDATE opslib.proxies SET check_ok = (url <> ALL(%s))", (failing,))
    return pool


def _config(tmp_path: Path, dsn: str) -> Path:
    path = tmp_path / "opslib.toml"
    countries = ", ".join(f"{c} = {n}" for c, n in REQUIRED.items())
    path.write_text(f"database_dsn = {json.dumps(dsn)}\n\n[proxies]\nrequired_countries = "
                    f"{{{countries}}}\n")  # fmt: skip
    path.chmod(0o600)
    return path


def _waiting_for_lock(db: TestDatabase) -> int:
    row = db.fetch_one(
        "SELECT count(*) AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
        " WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()"
    )
    return int(row["n"]) if row else 0


def test_two_rotations_at_once_act_once_and_keep_every_minimum(
    platform_db: TestDatabase, tmp_path: Path
) -> None:
    pool = _seed(platform_db)
    config = _config(tmp_path, platform_db.dsn)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSLIB_")}
    env["OPSLIB_CONFIG"] = str(config)
    argv = [sys.executable, "-m", "opslib.cli", "--json", "proxies", "rotate"]
    # Hold the rotation lock so both processes are provably inside `rotate` at the same time.
    with Database(platform_db.dsn) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (0x70726F7879,))
        procs = [
            subprocess.Popen(
                argv,
                env=env,
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        try:
            wait_until(lambda: _waiting_for_lock(platform_db) == 2, 30, "both rotations waiting")
        finally:
            holder.execute("SELECT pg_advisory_unlock(%s)", (0x70726F7879,))
        outputs = [p.communicate(timeout=60) for p in procs]
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    plans = sorted((json.loads(out) for out, _err in outputs), key=lambda p: -len(p["quarantine"]))
    first, second = plans
    # The second planned on what the first left: nothing to do.
    assert second["quarantine"] == [], second
    assert second["promote"] == [], second
    quarantined = {url for url, _why in first["quarantine"]}
    assert quarantined == {f"http://10.9.0.{n}:3128" for n in (1, 2, 5)}
    assert {url for url, _why in first["promote"]} == {
        "http://10.9.0.7:3128",
        "http://10.9.0.8:3128",
    }
    kept = {url for url, _why in first["kept"]}
    assert kept == {"http://10.9.0.3:3128", "http://10.9.0.4:3128"}
    assert all("last active proxy" in why for _url, why in first["kept"])

    active = Counter(p.country for p in pool.proxies([ProxyState.ACTIVE]))
    for country, minimum in REQUIRED.items():
        assert active[country] >= minimum, (country, active)
    moves = platform_db.fetch_all(
        "SELECT kind, count(*) AS n FROM opslib.proxy_events GROUP BY kind ORDER BY kind"
    )
    assert {m["kind"]: m["n"] for m in moves} == {"active": 2, "quarantined": 3}
    audit = platform_db.fetch_all(
        "SELECT dry_run, outcome, detail FROM opslib.audit_log WHERE action = 'proxies.rotate'"
        " ORDER BY id"
    )
    assert [(a["dry_run"], a["outcome"]) for a in audit] == [(False, "ok"), (False, "ok")]
    assert sorted(a["detail"] for a in audit) == [
        "quarantined 0, promoted 0",
        "quarantined 3, promoted 2",
    ]
