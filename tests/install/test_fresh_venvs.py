"""The two installs, each in a fresh virtual environment built from the wheel.

``opslib`` alone is what a service installs: the README's example runs there against a real
database and proxy, without pytest, the Docker SDK or click; the ``opslib`` command says which
extra to install; a project's own pytest run (pytest added by the project) is not disturbed by
opslib's plugin. ``opslib[checks]`` brings the command, the suites and the report.
Dependencies come from the package index (pip's cache makes a second run quick).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import venv
from pathlib import Path

import pytest

from opslib.proxies import ProxyPool, parse_proxy_url
from tests.dbkit import TestDatabase
from tests.proxies.servers import serving
from tests.proxies.test_readme_example import _example

ROOT = Path(__file__).resolve().parents[2]
_PIP_TIMEOUT = 600


def _run(argv: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
         timeout: float = 120) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSLIB_", "VIRTUAL_ENV"))}
    env.pop("PYTHONPATH", None)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return {**env, **extra}


class Venv:
    """A fresh virtual environment with ``pip install <spec>`` done."""

    def __init__(self, path: Path, spec: str) -> None:
        venv.create(path, with_pip=True, clear=True)
        self.path = path
        self.python = str(path / "bin" / "python")
        done = _run(
            [self.python, "-m", "pip", "install", "-q", spec],
            env=_clean_env(),
            timeout=_PIP_TIMEOUT,
        )
        assert done.returncode == 0, done.stderr[-2000:]

    def has(self, module: str) -> bool:
        probe = (
            f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
        )
        return _run([self.python, "-c", probe]).returncode == 0

    def bin(self, name: str) -> str:
        return str(self.path / "bin" / name)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = _run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)],
        env=_clean_env(),
        timeout=_PIP_TIMEOUT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (found,) = out.glob("opslib-*.whl")
    return found


@pytest.fixture(scope="module")
def lean(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    return Venv(tmp_path_factory.mktemp("lean") / "venv", str(wheel))


@pytest.fixture(scope="module")
def full(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    return Venv(tmp_path_factory.mktemp("checks") / "venv", f"{wheel}[checks]")


_SERVICE = """
import sys

{example}

page = fetch(pool, "127.0.0.1", sys.argv[1])
print("status", page.status_code if page is not None else None)
heavy = sorted(m for m in ("pytest", "docker", "click", "requests", "lxml", "prometheus_client")
               if m in sys.modules)
print("heavy", ",".join(heavy) or "-")
db.close()
"""


def test_a_service_runs_the_readme_example_with_plain_opslib(
    lean: Venv, platform_db: TestDatabase, tmp_path: Path
) -> None:
    for absent in ("pytest", "docker", "click", "lxml", "pytest_html"):
        assert not lean.has(absent), f"plain opslib installed {absent}"
    service = tmp_path / "service.py"
    service.write_text(_SERVICE.format(example=_example()))
    pool = ProxyPool(platform_db)
    with serving() as servers:
        port = servers.http_proxy("ok")
        pool.upsert([parse_proxy_url(f"127.0.0.1:{port}", country="de")])
        done = _run(
            [lean.python, str(service), servers.judge_url],
            cwd=tmp_path,
            env=_clean_env(OPSLIB_DATABASE_DSN=platform_db.dsn),
        )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "status 200" in done.stdout
    assert "heavy -" in done.stdout  # importing opslib pulled in nothing of the extras
    (proxy,) = pool.proxies()
    assert (proxy.requests, proxy.in_use) == (1, 0)  # the service reported its lease


def test_the_command_names_the_extra_it_needs(lean: Venv) -> None:
    done = _run([lean.bin("opslib"), "proxies", "list"], env=_clean_env())
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "opslib: error: this command needs the click package: pip install 'opslib[cli]'"
    ]


_PROJECT_TEST = """
def test_adds() -> None:
    assert 1 + 1 == 2
"""

_CHECK = """
import pytest

from opslib.results import CheckResult, Measurement, Threshold


@pytest.mark.sop("demo.disk")
def test_disk(ops_verdict) -> None:
    ops_verdict(CheckResult("demo.disk", "disk", (Measurement("used", 0.5, Threshold(crit=0.9)),)))
"""


def test_a_projects_own_pytest_run_is_not_disturbed(lean: Venv, tmp_path: Path) -> None:
    added = _run(
        [lean.python, "-m", "pip", "install", "-q", "pytest"], env=_clean_env(), timeout=600
    )
    assert added.returncode == 0, added.stderr[-2000:]
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_project.py").write_text(_PROJECT_TEST)
    (project / "test_check.py").write_text(textwrap.dedent(_CHECK))
    done = _run(
        [lean.python, "-m", "pytest", "-v", "-p", "no:cacheprovider"],
        cwd=project,
        env=_clean_env(),
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "test_project.py::test_adds PASSED" in done.stdout
    assert "test_check.py::test_disk OK [demo.disk]" in done.stdout  # the plugin is active
    assert not lean.has("pytest_html")


def test_checks_install_brings_the_command_and_the_suites(full: Venv) -> None:
    done = _run([full.bin("opslib"), "--help"], env=_clean_env())
    assert done.returncode == 0, done.stderr
    assert "proxies" in done.stdout
    assert "backup" in done.stdout
    listed = _run(
        [full.python, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         str(ROOT / "checks" / "daily")],
        cwd=ROOT,
        env=_clean_env(OPSLIB_CONFIG=os.devnull),
    )  # fmt: skip
    assert listed.returncode == 0, listed.stdout[-3000:] + listed.stderr[-2000:]
    assert "test_health" in listed.stdout or "daily" in listed.stdout
    for present in ("pytest_html", "docker", "lxml", "click"):
        assert full.has(present), f"opslib[checks] lacks {present}"
