"""``opslib logs patterns`` on files, stdin and a service's real container logs; bad input is
one line and exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import docker
import pytest

from opslib.adapters import Platform
from opslib.cli import main
from opslib.lab._image import ensure_image
from tests.adapters.conftest import Containers
from tests.labkit import require_docker
from tests.logs.conftest import DEV_LOGS, dev_logs_dir, load_dev_log
from tests.support import wait_until, without_opslib_environment

MESSY = [
    b"2024-05-01 10:00:01 ERROR scraper: GET https://u:pw@shop.test/item/1 failed: 503",
    b"Traceback (most recent call last):",
    b'  File "/app/scraper.py", line 10, in fetch',
    b"ValueError: https://shop.test/item/1",
    b"\x00\x01\xff\xfe binary \x80 garbage",
    b"caf\xe9 \xff non-utf8 line 7",
    b"y" * (1 << 20),
    b"2024-05-01 10:00:02 ERROR scraper: GET https://www.shop.test/item/22 failed: 502",
    b"\tat com.shop.Worker.run(Worker.java:7)",
    b"2024-05-01 10:00:03 INFO scraper: 12 items done",
]


@pytest.fixture(autouse=True)
def _plain_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    without_opslib_environment(monkeypatch)
    monkeypatch.chdir(tmp_path)


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, dict[str, object]]:
    status = main(argv)
    out = capsys.readouterr().out
    return status, json.loads(out) if status == 0 else {}


def test_a_file_with_assignments_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"\n".join(MESSY) + b"\n")
    status, report = _json(
        capsys, ["logs", "patterns", "--file", str(log), "--assignments", "ids.txt", "--json"]
    )
    assert status == 0
    ids = (tmp_path / "ids.txt").read_text().split()
    assert len(ids) == len(MESSY)
    assert ids[0] == ids[1] == ids[2] == ids[3] == ids[7] == ids[8]  # traces join their record
    assert report["lines"] == len(MESSY)
    patterns = report["patterns"]
    assert isinstance(patterns, list)
    top = patterns[0]
    assert top["count"] == 2
    assert top["template"] == "GET <*> failed: <*>"
    assert top["domains"] == ["shop.test", "www.shop.test"]
    assert top["is_error"] is True
    assert "u:***@shop.test" in top["example"]
    assert top["first_seen"] == "2024-05-01T10:00:01+00:00"
    assert top["last_seen"] == "2024-05-01T10:00:02+00:00"


def test_errors_only_and_top(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"\n".join(MESSY))
    status, report = _json(capsys, ["--json", "logs", "patterns", "--file", str(log),
                                    "--errors-only", "--top", "1"])  # fmt: skip
    assert status == 0
    assert [p["template"] for p in report["patterns"]] == ["GET <*> failed: <*>"]  # type: ignore[attr-defined]


def test_stdin_in_a_real_process(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "opslib.cli", "logs", "patterns", "--file", "-",
         "--assignments", str(tmp_path / "ids")],
        input=b"\n".join(MESSY), capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert len((tmp_path / "ids").read_text().splitlines()) == len(MESSY)
    assert b"GET <*> failed: <*>" in done.stdout
    assert b"u:pw@" not in done.stdout


def test_piped_stdin_without_file(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"\n".join(MESSY))
    with log.open("rb") as stdin:
        done = subprocess.run(
            [sys.executable, "-m", "opslib.cli", "logs", "patterns", "--assignments", "ids"],
            stdin=stdin, cwd=tmp_path, capture_output=True, timeout=60, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert b"from stdin" in done.stdout
    assert len((tmp_path / "ids").read_text().splitlines()) == len(MESSY)


@pytest.mark.parametrize("name", DEV_LOGS)
def test_assignments_of_a_dev_log_are_one_per_line(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = load_dev_log(name)
    folder = dev_logs_dir()
    assert folder is not None
    path = folder / name / f"{name}_2k.log"
    assert main(["logs", "patterns", "--file", str(path), "--assignments", "ids"]) == 0
    assert len((tmp_path / "ids").read_text().splitlines()) == len(log.raw)
    capsys.readouterr()


def test_new_against_a_saved_baseline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "old.log").write_text("user 1 logged in\nuser 2 logged in\n")
    (tmp_path / "new.log").write_text("user 3 logged in\nproxy 10.0.0.1 banned by shop.test\n")
    assert main(["logs", "patterns", "--file", "old.log", "--save-baseline", "b.json"]) == 0
    capsys.readouterr()
    status, report = _json(capsys, ["logs", "patterns", "--file", "new.log", "--new",
                                    "--baseline", "b.json", "--json"])  # fmt: skip
    assert status == 0
    assert [p["template"] for p in report["patterns"]] == ["proxy <*> banned by shop.test"]  # type: ignore[attr-defined]
    # the default baseline location (logs.baseline_file, under reports/)
    assert main(["logs", "patterns", "--file", "old.log", "--save-baseline",
                 "reports/log-patterns.json"]) == 0  # fmt: skip
    capsys.readouterr()
    status, report = _json(capsys, ["logs", "patterns", "--file", "new.log", "--new", "--json"])
    assert len(report["patterns"]) == 1  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--file", "missing.log"], "cannot read missing.log"),
        (["--file", "."], "is a directory"),
        (["--file", "a.log", "--since", "soon"], "not a duration"),
        (["--file", "a.log", "--top", "0"], "--top"),
        (["--file", "a.log", "--new"], "no log baseline at reports/log-patterns.json"),
        (["--file", "a.log", "--new", "--baseline", "a.log"], "cannot read the log baseline"),
        (["--file", "a.log", "--save-baseline", "a.log/x.json"], "cannot write the baseline"),
    ],
)
def test_bad_input_is_one_line_and_status_2(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.log").write_text("hello 1\n")
    assert main(["logs", "patterns", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) <= 4  # click's usage lines at most, no traceback
    assert "Traceback" not in err


# --- a service's container logs, through the Docker adapter ------------------------------------

_LOGGER = (
    "import sys, time\n"
    "for i in range(30):\n"
    "    print(f'2024-05-01 10:00:{i:02d} ERROR scraper: GET https://shop{i % 3}.test/p/{i}"
    " failed: 503', flush=True)\n"
    "    print(f'2024-05-01 10:00:{i:02d} INFO scraper: item {i} stored', flush=True)\n"
    "print('Traceback (most recent call last):', file=sys.stderr, flush=True)\n"
    "print('  File \"x.py\", line 1', file=sys.stderr, flush=True)\n"
    "print('ValueError: boom', file=sys.stderr, flush=True)\n"
    "print('DONE', flush=True)\n"
    "time.sleep(3600)\n"
)


@pytest.fixture(scope="module")
def logging_service() -> Iterator[str]:
    require_docker()
    client = docker.from_env(timeout=30)
    group = Containers(client, f"opslib-test-logs-{uuid.uuid4().hex[:8]}", ensure_image(client))
    try:
        group.run("scraper", _LOGGER)
        group.run("scraper", _LOGGER, number=2)
        with Platform(group.project, timeout=10) as platform:
            since = datetime.now(UTC) - timedelta(minutes=10)

            def logged() -> bool:
                lines = platform.logs("scraper", since)
                return sum(line.text == "DONE" for line in lines) == 2

            wait_until(logged, 60, "the test containers to log")
        yield group.project
    finally:
        group.remove_all()
        client.close()


def test_a_services_container_logs(
    logging_service: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("OPSLIB_COMPOSE_PROJECT", logging_service)
    status, report = _json(capsys, ["logs", "patterns", "--service", "scraper", "--since", "10m",
                                    "--assignments", "ids", "--json"])  # fmt: skip
    assert status == 0
    assert report["lines"] == 2 * (60 + 3 + 1)
    assert len((tmp_path / "ids").read_text().splitlines()) == report["lines"]
    by_template = {p["template"]: p for p in report["patterns"]}  # type: ignore[attr-defined]
    failed = by_template["GET <*> failed: <*>"]
    assert failed["count"] == 60
    assert failed["domains"] == ["shop0.test", "shop1.test", "shop2.test"]
    assert by_template["item <*> stored"]["count"] == 60
    first = datetime.fromisoformat(str(failed["first_seen"]))
    assert abs(datetime.now(UTC) - first) < timedelta(minutes=10)  # the engine's time of it


def test_streamed_logs_match_the_listed_ones(logging_service: str) -> None:
    since = datetime.now(UTC) - timedelta(minutes=10)
    with Platform(logging_service, timeout=10) as platform:
        listed = platform.logs("scraper", since)
        streamed = list(platform.stream_logs("scraper", since))
    assert sorted((line.container, line.text) for line in streamed) == sorted(
        (line.container, line.text) for line in listed
    )
    assert len({line.container for line in streamed}) == 2


def test_an_unreachable_engine_is_status_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("OPSLIB_DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    monkeypatch.setenv("OPSLIB_TIMEOUTS__DOCKER", "1")
    assert main(["logs", "patterns", "--service", "scraper"]) == 3
    assert "docker" in capsys.readouterr().err
