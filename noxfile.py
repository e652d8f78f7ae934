"""Sessions: tests, lint, typecheck, daily (the main job) and bench."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

ROOT = Path(__file__).parent
REPORTS = ROOT / "reports"


def _install(session: nox.Session, *, dev: bool = True) -> None:
    # The main job and the benchmarks run with what an operator installs (opslib[checks]): no
    # test-only plugins (hypothesis alone adds 0.6 s to every pytest start).
    session.install("-e", ".[dev]" if dev else ".[checks]")


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite: unit tests, adapters against real servers, the lab and the checks."""
    _install(session)
    REPORTS.mkdir(exist_ok=True)
    session.run(
        "pytest",
        "--junitxml",
        str(REPORTS / "tests.xml"),
        *session.posargs,
        env={"PYTHONDONTWRITEBYTECODE": "1"},
    )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and format check."""
    session.install("ruff")
    paths = ["src", "tests", "checks", "bench", "noxfile.py", "hatch_build.py"]
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package, the tests and the checks."""
    _install(session)
    session.run("mypy")


def _platform_configured() -> bool:
    return bool(
        os.environ.get("OPSLIB_CONFIG")
        or os.environ.get("OPSLIB_DATABASE_DSN")
        or (ROOT / "opslib.toml").is_file()
    )


@nox.session
def daily(session: nox.Session) -> None:
    """The main job: the daily runbook checks, with an HTML report in reports/.

    Checks the configured platform (OPSLIB_CONFIG, OPSLIB_DATABASE_DSN or ./opslib.toml). The
    built-in lab is started and checked instead with `nox -s daily -- --lab`, or when no platform
    is configured outside CI; in CI (CI set) without a platform the job fails, so a missing
    secret never turns a post-deploy gate green against the lab. Stop the lab afterwards with
    `opslib lab down`.
    """
    args = [arg for arg in session.posargs if arg != "--lab"]
    use_lab = len(args) != len(session.posargs)
    if not use_lab and not _platform_configured():
        if os.environ.get("CI"):
            session.error(
                "no platform configured: set OPSLIB_CONFIG (a config file) or"
                " OPSLIB_DATABASE_DSN, or pass `-- --lab` to check the built-in lab"
            )
        use_lab = True
    _install(session, dev=False)
    REPORTS.mkdir(exist_ok=True)
    env: dict[str, str] = {}
    if use_lab:
        session.log("checking the built-in lab (started if it is not running)")
        session.run("opslib", "lab", "up")
        out = session.run("opslib", "lab", "env", "--json", silent=True)
        assert isinstance(out, str)
        env["OPSLIB_CONFIG"] = json.loads(out)["OPSLIB_CONFIG"]
    session.run(
        "pytest",
        "checks/daily",
        "-p",
        "no:cacheprovider",
        "--html",
        str(REPORTS / "daily.html"),
        "--self-contained-html",
        "--junitxml",
        str(REPORTS / "daily.xml"),
        *args,
        env=env,
    )


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks, measured side by side in one run, printing ratios."""
    _install(session, dev=False)
    session.install("drain3")  # bench_logs.py's reference miner, not a runtime dependency
    session.install("beautifulsoup4")  # the extraction benchmark's baseline, nowhere else
    for script in sorted((ROOT / "bench").glob("bench_*.py")):
        session.run("python", str(script), *session.posargs)
