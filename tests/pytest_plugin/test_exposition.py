"""Prometheus exposition: the node_exporter textfile and pushes to a real Pushgateway."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from opslib.pytest_plugin._exposition import Exposition, Gateway, export
from opslib.pytest_plugin._state import CheckRecord, RunState
from opslib.redact import redact
from opslib.results import CheckResult, Measurement, Severity, Threshold
from tests.pytest_plugin.conftest import RESULTS
from tests.support import free_port, require, wait_until

pytest_plugins = ["pytester"]

CHECKS = (
    RESULTS
    + """
from opslib.errors import UnreachableError


@pytest.mark.sop("daily.health")
def test_ok(ops_verdict):
    ops_verdict(cpu(40))


@pytest.mark.sop("daily.health")
def test_warning(ops_verdict):
    ops_verdict(cpu(85, note="proxy http://ops:hunter22@10.0.0.1:3128 slow"))


@pytest.mark.sop("daily.performance")
def test_critical(ops_verdict):
    ops_verdict(cpu(97, sop="daily.performance"))


@pytest.mark.sop("daily.data_quality")
def test_unknown(ops_verdict):
    ops_verdict(CheckResult.unknown("daily.data_quality", "Coverage", "no rows at all"))


@pytest.mark.sop("daily.health")
def test_unreachable(ops_verdict):
    raise UnreachableError("prometheus", "http://127.0.0.1:1: refused")


@pytest.mark.sop("daily.health")
def test_skipped(ops_verdict):
    pytest.skip("not today")


def test_plain():
    pass
"""
)

WEEKLY = (
    RESULTS
    + """

@pytest.mark.sop("daily.health")
def test_daily(ops_verdict):
    ops_verdict(cpu(97))


@pytest.mark.sop("weekly.proxy_pool")
def test_weekly(ops_verdict):
    ops_verdict(cpu(10, sop="weekly.proxy_pool"))
"""
)

Samples = dict[tuple[tuple[str, str], ...], float]


def samples(text: str, name: str, drop: tuple[str, ...] = ()) -> Samples:
    """The samples of metric ``name``, keyed by their sorted labels (without ``drop``)."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                key = tuple(sorted((k, v) for k, v in sample.labels.items() if k not in drop))
                found[key] = sample.value
    return found


def status_by_check(text: str) -> dict[str, float]:
    found = samples(text, "opslib_check_status", drop=("job", "instance"))
    return {dict(labels)["check"]: value for labels, value in found.items()}


def test_textfile_holds_status_measurements_thresholds_and_last_run(
    checks: pytest.Pytester,
) -> None:
    checks.makepyfile(test_daily=CHECKS)
    before = time.time()
    result = checks.runpytest("--ops-prometheus=out/daily.prom")
    after = time.time()
    assert result.ret == 1  # the CRITICAL decides it, as without the option
    path = checks.path / "out" / "daily.prom"
    result.stdout.fnmatch_lines([f"opslib reports: Prometheus {path}"])
    assert [p.name for p in path.parent.iterdir()] == ["daily.prom"]  # no temporary left
    text = path.read_text()
    assert status_by_check(text) == {
        "test_daily.py::test_ok": 0,
        "test_daily.py::test_warning": 1,
        "test_daily.py::test_critical": 2,
        "test_daily.py::test_unknown": 3,
        "test_daily.py::test_unreachable": 3,
    }
    status = samples(text, "opslib_check_status")
    critical = (
        ("check", "test_daily.py::test_critical"),
        ("sop", "daily.performance"),
        ("suite", "daily"),
    )
    assert status[critical] == 2
    warning = {"check": "test_daily.py::test_warning", "sop": "daily.health", "suite": "daily"}
    measured = {dict(k)["check"] + "/" + dict(k)["subject"]: v for k, v in
                samples(text, "opslib_check_measurement").items()}  # fmt: skip
    assert measured == {
        "test_daily.py::test_ok/scraper-1": 40,
        "test_daily.py::test_ok/scraper-2": 12,
        "test_daily.py::test_warning/scraper-1": 85,
        "test_daily.py::test_warning/scraper-2": 12,
        "test_daily.py::test_critical/scraper-1": 97,
        "test_daily.py::test_critical/scraper-2": 12,
    }
    key = tuple(sorted({**warning, "measurement": "cpu_percent", "subject": "scraper-1",
                        "unit": "%"}.items()))  # fmt: skip
    assert samples(text, "opslib_check_measurement")[key] == 85
    limits = samples(text, "opslib_check_threshold")
    for level, limit in (("warn", 80), ("crit", 95)):
        named = {**warning, "measurement": "cpu_percent", "subject": "scraper-1"}
        assert limits[tuple(sorted({**named, "level": level, "bad": "above"}.items()))] == limit
    assert len(limits) == 3 * 2 * 2  # three measured checks, two subjects, warn and crit
    ((suite, last_run),) = samples(text, "opslib_suite_last_run_timestamp_seconds").items()
    assert suite == (("suite", "daily"),)
    assert before <= last_run <= after


def test_secret_in_a_label_value_is_masked(checks: pytest.Pytester) -> None:
    checks.makepyfile(
        test_proxy=RESULTS
        + """

@pytest.mark.sop("weekly.proxy_pool")
def test_proxy(ops_verdict):
    ops_verdict(CheckResult("weekly.proxy_pool", "proxy", (
        Measurement("latency_ms", 120.0, subject="http://ops:hunter22@10.0.0.1:3128"),
    )))
"""
    )
    result = checks.runpytest("--ops-prometheus=weekly.prom")
    assert result.ret == 0
    text = (checks.path / "weekly.prom").read_text()
    assert "hunter22" not in text
    ((labels, value),) = samples(text, "opslib_check_measurement").items()
    assert dict(labels)["subject"] == "http://ops:***@10.0.0.1:3128"
    assert dict(labels)["unit"] == ""
    assert value == 120
    assert samples(text, "opslib_check_threshold") == {}


def test_a_run_that_judged_nothing_exports_nothing(checks: pytest.Pytester) -> None:
    checks.makepyfile(
        test_skip="""
import pytest

@pytest.mark.sop("daily.health")
def test_skipped(ops_verdict):
    pytest.skip("not today")
"""
    )
    result = checks.runpytest("--ops-prometheus=daily.prom")
    assert result.ret == 0
    assert not (checks.path / "daily.prom").exists()
    result.stdout.fnmatch_lines(["opslib: Prometheus results not exported: no check was judged"])


def test_textfile_must_be_a_prom_file(checks: pytest.Pytester) -> None:
    checks.makepyfile(test_daily=CHECKS)
    result = checks.runpytest("--ops-prometheus=daily.txt")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--ops-prometheus*daily.txt*reads only *.prom files*"])


def test_unwritable_textfile_is_one_line_and_keeps_the_exit_status(
    checks: pytest.Pytester,
) -> None:
    checks.makepyfile(test_daily=CHECKS)
    (checks.path / "out").write_text("a file, not a directory")
    result = checks.runpytest("--ops-prometheus=out/daily.prom")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["opslib: could not write */out/daily.prom: *"])
    assert "Traceback" not in result.stdout.str()


# --- a real Pushgateway ---------------------------------------------------------------------

USER, PASSWORD = "ops", "pushgw-test-pw"
# bcrypt (cost 4) of PASSWORD, as the Pushgateway's web config wants it.
PASSWORD_HASH = "$2b$04$4OGYnxSKrQWfhntwjyVvOOTWJClYKp/RwZOkD.63PLA7gmfRHv5Vm"


@dataclass(frozen=True)
class Pushgateway:
    port: int

    def url(self, password: str = PASSWORD) -> str:
        return f"http://{USER}:{password}@127.0.0.1:{self.port}"

    def metrics(self) -> str:
        response = httpx.get(
            f"http://127.0.0.1:{self.port}/metrics",
            auth=(USER, PASSWORD),
            timeout=5,
            trust_env=False,
        )
        response.raise_for_status()
        return response.text


@pytest.fixture(scope="module")
def pushgateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pushgateway]:
    """``prometheus-pushgateway`` on 127.0.0.1 with basic auth, nothing persisted."""
    binary = shutil.which("prometheus-pushgateway")
    require(binary is not None, "no Pushgateway (apt-get install prometheus-pushgateway)")
    assert binary is not None
    base = tmp_path_factory.mktemp("pushgateway")
    web = base / "web.yml"
    web.write_text(f'basic_auth_users:\n  {USER}: "{PASSWORD_HASH}"\n')
    port = free_port()
    log = base / "pushgateway.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [binary, f"--web.listen-address=127.0.0.1:{port}", f"--web.config.file={web}",
             "--persistence.file=", "--log.level=warn"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    gateway = Pushgateway(port)
    try:

        def ready() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"pushgateway exited: {log.read_text()[-2000:]}")
            try:
                return "pushgateway_build_info" in gateway.metrics()
            except httpx.HTTPError:
                return False

        wait_until(ready, 20, "the Pushgateway to answer")
        yield gateway
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def test_push_one_group_per_suite_with_basic_auth(
    checks: pytest.Pytester, pushgateway: Pushgateway
) -> None:
    checks.makepyfile(test_suites=WEEKLY)
    result = checks.runpytest(f"--ops-pushgateway={pushgateway.url()}")
    assert result.ret == 1
    shown = f"http://ops:***@127.0.0.1:{pushgateway.port}"
    result.stdout.fnmatch_lines([f"opslib: pushed daily, weekly to {shown} (job opslib)"])
    assert PASSWORD not in result.stdout.str()
    text = pushgateway.metrics()
    status = samples(text, "opslib_check_status", drop=("instance",))
    assert status == {
        (("check", "test_suites.py::test_daily"), ("job", "opslib"), ("sop", "daily.health"),
         ("suite", "daily")): 2,
        (("check", "test_suites.py::test_weekly"), ("job", "opslib"),
         ("sop", "weekly.proxy_pool"), ("suite", "weekly")): 0,
    }  # fmt: skip
    pushed = samples(text, "push_time_seconds", drop=("instance",))
    assert set(pushed) == {
        (("job", "opslib"), ("suite", "daily")),
        (("job", "opslib"), ("suite", "weekly")),
    }
    runs = samples(text, "opslib_suite_last_run_timestamp_seconds", drop=("instance",))
    assert {dict(k)["suite"] for k in runs} == {"daily", "weekly"}

    # A second run of the weekly suite alone replaces its group: the daily one stays as it was.
    checks.makepyfile(
        test_suites=RESULTS
        + """

@pytest.mark.sop("weekly.proxy_pool")
def test_weekly_again(ops_verdict):
    ops_verdict(cpu(85, sop="weekly.proxy_pool"))
"""
    )
    assert checks.runpytest(f"--ops-pushgateway={pushgateway.url()}").ret == 0
    assert status_by_check(pushgateway.metrics()) == {
        "test_suites.py::test_daily": 2,
        "test_suites.py::test_weekly_again": 1,
    }


def test_rejected_push_is_one_line_and_keeps_the_exit_status(
    checks: pytest.Pytester, pushgateway: Pushgateway
) -> None:
    checks.makepyfile(
        test_ok=RESULTS
        + """

@pytest.mark.sop("monthly.capacity")
def test_ok(ops_verdict):
    ops_verdict(cpu(10, sop="monthly.capacity"))
"""
    )
    wrong = "wrong-password-1"
    result = checks.runpytest(f"--ops-pushgateway={pushgateway.url(wrong)}")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [f"opslib: could not push to http://ops:***@127.0.0.1:{pushgateway.port}: HTTP 401 *"]
    )
    output = result.stdout.str() + result.stderr.str()
    assert wrong not in output
    assert "Traceback" not in output
    assert "monthly" not in {
        dict(k).get("suite") for k in samples(pushgateway.metrics(), "push_time_seconds")
    }


def test_unreachable_pushgateway_is_one_line(checks: pytest.Pytester) -> None:
    checks.makepyfile(test_daily=CHECKS)
    port = free_port()  # nothing listens there
    result = checks.runpytest(f"--ops-pushgateway=http://ops:s3cret-pw@127.0.0.1:{port}/")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [f"opslib: could not push to http://ops:***@127.0.0.1:{port}/: Connection refused"]
    )
    assert "s3cret-pw" not in result.stdout.str()


def test_silent_pushgateway_times_out() -> None:
    """A gateway that accepts the connection and never answers costs the timeout, no more."""
    state = RunState(
        fail_on=Severity.CRITICAL, config_file=None, summary_path=None, summary_explicit=False
    )
    result = CheckResult("daily.health", "cpu", (Measurement("cpu", 1.0, Threshold(warn=2)),))
    state.records["t::c"] = CheckRecord(
        "t::c", "daily.health", "cpu", Severity.OK, "passed", "", result
    )
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", free_port()))
        listener.listen()  # the kernel completes the handshake; nobody ever reads or answers
        port = listener.getsockname()[1]
        exposition = Exposition(gateway=Gateway.parse(f"http://127.0.0.1:{port}"), timeout=0.5)
        began = time.monotonic()
        export(state, exposition, time.time())
        took = time.monotonic() - began
    assert exposition.problems == [
        f"could not push to http://127.0.0.1:{port}: no answer within 0.5 s"
    ]
    assert exposition.pushed == []
    assert took < 3


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://127.0.0.1:9091", "not an http(s)://host[:port] URL"),
        ("http://ops:s3cret-pw@127.0.0.1:99999", "Port out of range 0-65535"),
        ("http://127.0.0.1:9091/?x=1", "a Pushgateway URL takes no query or fragment"),
    ],
    ids=["scheme", "port", "query"],
)
def test_bad_pushgateway_url_is_a_usage_error(checks: pytest.Pytester, url: str, why: str) -> None:
    checks.makepyfile(test_daily=CHECKS)
    result = checks.runpytest(f"--ops-pushgateway={url}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"ERROR: --ops-pushgateway {redact(url)}: {why}\n" in result.stderr.str()
    assert "s3cret-pw" not in result.stderr.str()


def test_gateway_url_credentials_are_taken_out() -> None:
    gateway = Gateway.parse("https://push%40ops:p%2Fss%3Aword@gw.example:9091/base/")
    assert gateway.url == "https://gw.example:9091/base"
    assert (gateway.username, gateway.password) == ("push@ops", "p/ss:word")
    assert gateway.shown == "https://push%40ops:***@gw.example:9091/base/"
    assert Gateway.parse("http://ops@gw:9091").password == ""
    assert Gateway.parse("http://gw:9091").username is None
