"""Benchmark: ``opslib backup create / verify / integrity`` against raw pg_dump / pg_restore.

Run with ``nox -s bench`` (or ``python bench/bench_backups.py [--mb 1024] [--rounds 2]``).
Starts a throwaway PostgreSQL cluster of its own, grows ``price_history`` server-side
(generate_series) to ``--mb`` MB of heap, then measures side by side, alternating, in one run:

1. ``opslib backup create`` against a raw ``pg_dump -Fc`` of the same database. Target <= 1.1x.
2. ``opslib backup verify`` against a raw ``pg_restore`` into a scratch database (created and
   dropped around it). Target <= 1.2x.
3. ``opslib backup integrity`` throughput in MB/s, beside ``sha256sum`` of the same files.

Every dump is deleted after it is measured; the cluster and its files are removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from psycopg import conninfo, sql

from opslib.adapters import Database
from opslib.backups import Catalog, find_tools
from opslib.backups._tools import server_major
from opslib.lab._postgres import PostgresCluster
from opslib.migrations import migrate

ROOT = Path(__file__).resolve().parent.parent
BATCH_ROWS = 1_000_000


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _grow(db: Database, target_mb: int) -> tuple[int, float]:
    db.execute(
        "INSERT INTO monitored_urls (domain, url) SELECT 'shop' || (g % 20) || '.test',"
        " 'https://shop.test/p/' || g FROM generate_series(1, 20000) g"
    )
    while True:
        row = db.fetch_one("SELECT pg_relation_size('price_history') AS b")
        size = int(row["b"]) if row else 0
        if size >= target_mb * 1024 * 1024:
            break
        db.execute(
            "INSERT INTO price_history (url_id, price, currency, extraction_confidence,"
            " extraction_method, checked_at)"
            " SELECT 1 + (g %% 20000), round((random() * 500)::numeric, 2), 'EUR',"
            " 0.5 + random() / 2, 'css', now() - (g %% 2592000) * interval '1 second'"
            " FROM generate_series(1, %s) g",
            (BATCH_ROWS,),
        )
    db.execute("VACUUM ANALYZE price_history")
    rows = db.fetch_one("SELECT count(*) AS n FROM price_history")
    return (int(rows["n"]) if rows else 0), size / 1e6


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False, timeout=7200)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        shown = (done.stdout + done.stderr)[-800:]
        raise SystemExit(f"{' '.join(argv[-3:])} failed ({done.returncode}): {shown}")
    return seconds, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=int(os.environ.get("BENCH_BACKUP_MB", "1024")))
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="opslib-bench-backups-"))
    base.chmod(0o755)  # the cluster runs as an unprivileged user that must reach it
    cluster = PostgresCluster(base / "cluster", _free_port())
    backup_dir = base / "backups"
    backup_dir.mkdir()
    try:
        cluster.init()
        cluster.start()
        with Database(cluster.dsn, statement_timeout=7200) as db:
            migrate(db, ("opslib", "platform"))
            started = time.perf_counter()
            rows, heap_mb = _grow(db, args.mb)
            print(
                f"price_history: {rows:,} rows, {heap_mb:,.0f} MB heap"
                f" (grown in {time.perf_counter() - started:.0f} s)"
            )
            tools = find_tools(server_major(db)[0])
            _measure(
                db,
                cluster.dsn,
                pg_dump=tools.pg_dump,
                pg_restore=tools.pg_restore,
                backup_dir=backup_dir,
                rounds=args.rounds,
            )
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


def _client_env(dsn: str, dbname: str | None = None) -> tuple[str, dict[str, str]]:
    """What an operator runs by hand: a conninfo for -d and the password in PGPASSWORD."""
    params = conninfo.conninfo_to_dict(dsn)
    password = str(params.pop("password", ""))
    if dbname is not None:
        params["dbname"] = dbname
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PGPASSWORD": password}
    return conninfo.make_conninfo("", **{k: str(v) for k, v in params.items()}), env


def _measure(
    db: Database, dsn: str, *, pg_dump: Path, pg_restore: Path, backup_dir: Path, rounds: int
) -> None:
    conn_str, env = _client_env(dsn)
    cli_env = {
        **os.environ,
        "OPSLIB_DATABASE_DSN": dsn,
        "OPSLIB_BACKUPS__BACKUP_DIR": str(backup_dir),
        "OPSLIB_TIMEOUTS__STATEMENT": "3600",
    }
    cli_env.pop("OPSLIB_CONFIG", None)
    opslib = [sys.executable, "-m", "opslib.cli"]
    raw_dump = backup_dir / "raw.dump"
    create: list[float] = []
    dump: list[float] = []
    verify: list[float] = []
    restore: list[float] = []
    integrity: list[float] = []
    sha: list[float] = []
    size_mb = 0.0
    for _ in range(rounds):
        seconds, _ = _timed([str(pg_dump), "-Fc", "-f", str(raw_dump), "-d", conn_str], env)
        dump.append(seconds)
        scratch = f"bench_restore_{len(restore)}"
        db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch)))
        restore_conn, _ = _client_env(dsn, dbname=scratch)
        seconds, _ = _timed(
            [
                str(pg_restore),
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "-d",
                restore_conn,
                str(raw_dump),
            ],
            env,
        )
        restore.append(seconds)
        db.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(scratch)))
        raw_dump.unlink()

        seconds, out = _timed([*opslib, "--json", "backup", "create"], cli_env)
        create.append(seconds)
        name = json.loads(out)["name"]
        folder = backup_dir / name
        seconds, _ = _timed([*opslib, "backup", "verify", name], cli_env)
        verify.append(seconds)
        seconds, _ = _timed([*opslib, "backup", "integrity", name], cli_env)
        integrity.append(seconds)
        files = [str(p) for p in folder.iterdir()]
        size_mb = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
        seconds, _ = _timed(["sha256sum", *files], env)
        sha.append(seconds)
        shutil.rmtree(folder)  # bounded disk use; the catalogue is told, so it stays consistent
        Catalog(db, backup_dir).mark_deleted(name)

    def med(values: list[float]) -> float:
        return statistics.median(values)

    print(f"rounds: {rounds}; backup size {size_mb:,.0f} MB")
    print(f"raw pg_dump -Fc         {med(dump):8.2f} s")
    print(f"opslib backup create    {med(create):8.2f} s   ratio {med(create) / med(dump):.2f}x")
    print("  (target <= 1.1x)")
    print(f"raw pg_restore          {med(restore):8.2f} s")
    print(f"opslib backup verify    {med(verify):8.2f} s   ratio {med(verify) / med(restore):.2f}x")
    print("  (target <= 1.2x)")
    print(
        f"opslib backup integrity {med(integrity):8.2f} s   {size_mb / med(integrity):,.0f} MB/s"
        f"   (sha256sum alone: {size_mb / med(sha):,.0f} MB/s)"
    )


if __name__ == "__main__":
    main()
