"""The plugin's pytest hooks: options, the ``sop`` marker, verdicts on reports, summaries.

Items that carry no ``sop`` marker and use none of the plugin's fixtures are left alone.
"""

from __future__ import annotations

import os
import time
from collections.abc import Generator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from opslib.errors import OpsError
from opslib.pytest_plugin._alerts import ALERTS_KEY, LEVELS, Alerting, send_alert
from opslib.pytest_plugin._exposition import EXPOSITION_KEY, Exposition, Gateway, export
from opslib.pytest_plugin._html import HtmlReport, extras_for
from opslib.pytest_plugin._state import (
    RESULT_KEY,
    STATE_KEY,
    VERDICT_FAILED_KEY,
    CheckRecord,
    RunState,
    describe_error,
    is_ops_item,
    run_state,
    sop_of,
    title_of,
)
from opslib.pytest_plugin._summary import build_summary, write_summary
from opslib.redact import install_log_mask, remember_secrets, remove_log_mask
from opslib.results import Severity

if TYPE_CHECKING:
    from _pytest._code.code import ExceptionChainRepr, ReprExceptionInfo

__all__ = [
    "pytest_addoption",
    "pytest_collection_finish",
    "pytest_configure",
    "pytest_report_teststatus",
    "pytest_runtest_makereport",
    "pytest_sessionfinish",
    "pytest_terminal_summary",
    "pytest_unconfigure",
]

_HTML_PLUGIN = "opslib-html"
_FAIL_ON = {"critical": Severity.CRITICAL, "warning": Severity.WARNING}


def pytest_addoption(parser: pytest.Parser) -> None:
    """The ``opslib`` option group (``--ops-fail-on``, ``--ops-summary``, ``--ops-config``, ...)."""
    group = parser.getgroup("opslib", "opslib runbook checks")
    group.addoption(
        "--ops-fail-on",
        dest="ops_fail_on",
        choices=tuple(_FAIL_ON),
        default="critical",
        help="lowest severity that fails the run: critical (default; UNKNOWN always fails) "
        "or warning.",
    )
    group.addoption(
        "--ops-summary",
        dest="ops_summary",
        metavar="PATH",
        default=None,
        help="write the JSON summary of the checks to PATH "
        "(default: next to --html, same name with .json; none without --html).",
    )
    group.addoption(
        "--ops-config",
        dest="ops_config",
        metavar="PATH",
        default=None,
        help="opslib config file (default: $OPSLIB_CONFIG, else ./opslib.toml).",
    )
    group.addoption(
        "--ops-prometheus",
        dest="ops_prometheus",
        metavar="FILE",
        default=None,
        help="write every check's severity and measurements as Prometheus metrics to FILE "
        "(a *.prom file in node_exporter's textfile directory), atomically.",
    )
    group.addoption(
        "--ops-pushgateway",
        dest="ops_pushgateway",
        metavar="URL",
        default=None,
        help="push the same metrics to the Pushgateway at URL (http[s]://[user:password@]host"
        "[:port]), one group per suite: job=opslib, suite=<suite>.",
    )
    group.addoption(
        "--ops-notify",
        dest="ops_notify",
        nargs="?",
        const="critical",
        default=None,
        choices=tuple(LEVELS),
        metavar="LEVEL",
        help="at the end of the run, send one alert listing the CRITICAL and UNKNOWN checks to "
        "the notify channels (opslib.toml [[notify.channels]]); --ops-notify=warning adds "
        "WARNINGs. A failed send does not change the exit status.",
    )
    group.addoption(
        "--ops-baseline",
        dest="ops_baseline",
        metavar="PATH",
        default=None,
        help="the deploy gate's baseline: checks/maintenance/pre writes it, checks/maintenance/"
        "post compares with it (default: baseline.json beside --html, else "
        "reports/baseline.json).",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``sop`` marker and the run's state; the HTML columns with pytest-html.

    Every log record is masked from here on (live logging, ``--log-file``, captured logs).
    """
    install_log_mask()
    config.addinivalue_line(
        "markers", "sop(id): the runbook SOP this check implements, e.g. sop('daily.health')."
    )
    explicit = config.getoption("ops_summary")
    html = _html_path(config)
    summary = _resolve(explicit) if explicit else html.with_suffix(".json") if html else None
    config_file = config.getoption("ops_config")
    state = RunState(
        fail_on=_FAIL_ON[config.getoption("ops_fail_on")],
        config_file=_resolve(config_file) if config_file else None,
        summary_path=summary,
        summary_explicit=bool(explicit),
    )
    config.stash[STATE_KEY] = state
    config.stash[EXPOSITION_KEY] = _exposition(config, state)
    level = config.getoption("ops_notify")
    config.stash[ALERTS_KEY] = Alerting(level=LEVELS[level] if level else None)
    if config.pluginmanager.hasplugin("html"):
        config.pluginmanager.register(HtmlReport(state), _HTML_PLUGIN)


def _exposition(config: pytest.Config, state: RunState) -> Exposition:
    textfile = config.getoption("ops_prometheus")
    path = _resolve(textfile) if textfile else None
    if path is not None and path.suffix != ".prom":
        raise pytest.UsageError(
            f"--ops-prometheus {path}: node_exporter's textfile collector reads only *.prom files"
        )
    url = config.getoption("ops_pushgateway")
    gateway = None
    if url:
        state.secrets.append(url)
        remember_secrets(url)
        try:
            gateway = Gateway.parse(url)
        except ValueError as exc:
            raise pytest.UsageError(f"--ops-pushgateway {exc}") from None
    return Exposition(textfile=path, gateway=gateway)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Unregister the HTML columns plugin; stop masking log records."""
    remove_log_mask()
    plugin = config.pluginmanager.get_plugin(_HTML_PLUGIN)
    if plugin is not None:
        config.pluginmanager.unregister(plugin, _HTML_PLUGIN)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Check every ``sop`` marker and count the runbook checks per suite."""
    state = run_state(session.config)
    suites: dict[str, None] = {}
    for item in session.items:
        marker = item.get_closest_marker("sop")
        if marker is not None and not (
            len(marker.args) == 1 and isinstance(marker.args[0], str) and marker.args[0]
        ):
            raise pytest.UsageError(
                f"{item.nodeid}: the sop marker takes one SOP id, "
                "e.g. @pytest.mark.sop('daily.health')"
            )
        if is_ops_item(item):
            state.ops_items += 1
            sop = sop_of(item)
            if sop:
                suites.setdefault(sop.split(".")[0])
    state.suites = list(suites)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Judge a check's phase report: its severity and message, secrets masked, report extras."""
    report = yield
    state = item.config.stash.get(STATE_KEY, None)
    if state is None or not is_ops_item(item):
        return report
    _mask_secrets(report, state)
    record = _judge(item, call, report, state)
    if record is None:
        return report
    state.records[item.nodeid] = record
    if record.severity is not None:
        properties: list[tuple[str, object]] = [
            ("sop", record.sop),
            ("severity", record.severity.name),
        ]
        for target in (item.user_properties, report.user_properties):
            target[:] = [p for p in target if p[0] not in ("sop", "severity")] + properties
    if record.result is not None and item.config.pluginmanager.hasplugin(_HTML_PLUGIN):
        # pytest-html reads the extras of a report from this attribute.
        report.extras = [  # type: ignore[attr-defined]
            *getattr(report, "extras", []),
            *extras_for(record.result, state),
        ]
    return report


def _judge(
    item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport, state: RunState
) -> CheckRecord | None:
    """The check's record from this phase's report, or None when the phase says nothing new."""
    if report.passed and report.when != "call":
        return None
    if report.when == "teardown" and item.nodeid in state.records:
        return None
    result = item.stash.get(RESULT_KEY, None)
    severity: Severity | None
    outcome = "error" if report.when != "call" and report.failed else report.outcome
    excinfo = call.excinfo
    if report.skipped:
        severity, message = None, _skip_reason(report)
    elif excinfo is None:
        severity = result.severity if result is not None else Severity.OK
        message = result.message() if result is not None else f"OK: {title_of(item)}"
    elif (
        result is not None
        and item.stash.get(VERDICT_FAILED_KEY, False)
        and excinfo.errisinstance(pytest.fail.Exception)
    ):
        severity, message = result.severity, result.message()
    elif excinfo.errisinstance(OpsError):
        severity, message = Severity.UNKNOWN, f"UNKNOWN: {describe_error(excinfo.value)}"
        report.longrepr = _one_line(state.clean(message))
    else:
        # A bug in the check: keep pytest's traceback, but the check measured nothing.
        severity = Severity.UNKNOWN
        message = f"UNKNOWN: {title_of(item)}: {excinfo.exconly().splitlines()[0]}"
    return CheckRecord(
        nodeid=item.nodeid,
        sop=sop_of(item),
        title=title_of(item),
        severity=severity,
        outcome=outcome,
        message=state.clean(message),
        result=result,
    )


def _one_line(message: str) -> ReprExceptionInfo | ExceptionChainRepr:
    """A failure shown as just ``message``, as ``pytest.fail(pytrace=False)`` shows it.

    Raised and caught for real, so the representation carries a crash line for ``-ra``.
    """
    try:
        pytest.fail(message, pytrace=False)
    except pytest.fail.Exception:
        return pytest.ExceptionInfo.from_current().getrepr(style="value")
    raise AssertionError("pytest.fail returned")


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return f"skipped: {longrepr[2].removeprefix('Skipped: ')}"
    return "skipped"


def _mask_secrets(report: pytest.TestReport, state: RunState) -> None:
    report.sections = [(title, state.clean(text)) for title, text in report.sections]
    if report.failed and report.longrepr is not None:
        text = str(report.longrepr)
        cleaned = state.clean(text)
        if cleaned != text:
            report.longrepr = cleaned


def pytest_report_teststatus(
    report: pytest.TestReport, config: pytest.Config
) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
    """Show a check's severity (and SOP) instead of passed or failed."""
    state = config.stash.get(STATE_KEY, None)
    record = state.records.get(report.nodeid) if state is not None else None
    if record is None or record.severity is None or hasattr(report, "wasxfail"):
        return None
    word = f"{record.severity.name} [{record.sop}]" if record.sop else record.severity.name
    if report.when == "call" and report.passed:
        if record.severity is Severity.WARNING:
            return "passed", "W", (word, {"yellow": True})
        return "passed", ".", (word, {"green": True})
    if report.when == "call" and report.failed:
        return "failed", "F", (word, {"red": True})
    if report.when == "setup" and report.failed:
        return "error", "E", (word, {"red": True})
    return None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the JSON summary and the Prometheus exports; send the alert (``--ops-notify``)."""
    state = session.config.stash.get(STATE_KEY, None)
    if state is None:
        return
    exposition = session.config.stash.get(EXPOSITION_KEY, None)
    if exposition is not None and exposition.wanted and state.ops_items:
        export(state, exposition, time.time())
    alerting = session.config.stash.get(ALERTS_KEY, None)
    if alerting is not None and alerting.wanted and state.ops_items and not state.config_error:
        html = _html_path(session.config)
        send_alert(state, alerting, datetime.now(UTC), str(html) if html else None)
    if state.summary_path is None:
        return
    if not (state.summary_explicit or state.ops_items):
        return
    try:
        write_summary(state.summary_path, build_summary(state, exitstatus))
    except OSError as exc:
        state.summary_error = f"could not write {state.summary_path}: {exc}"
    else:
        state.summary_written = state.summary_path


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """The count line per severity and where the reports were written."""
    state = config.stash.get(STATE_KEY, None)
    if state is None or not state.ops_items:
        return
    if state.config_error:
        terminalreporter.write_line(f"opslib: {state.config_error}:", red=True, bold=True)
        for problem in state.config_problems:
            terminalreporter.write_line(f"  {problem}", red=True)
        return
    counts = state.counts()
    colour = (
        "red"
        if counts["CRITICAL"] or counts["UNKNOWN"]
        else "yellow"
        if counts["WARNING"]
        else "green"
    )
    terminalreporter.write_line(state.count_line(), bold=True, **{colour: True})
    junit = getattr(config.option, "xmlpath", None)
    exposition = config.stash.get(EXPOSITION_KEY, Exposition())
    paths = [
        ("HTML", _html_path(config)),
        ("JSON", state.summary_written),
        ("JUnit", _resolve(junit) if junit else None),
        ("Prometheus", exposition.written),
    ]
    shown = ", ".join(f"{kind} {path}" for kind, path in paths if path is not None)
    if shown:
        terminalreporter.write_line(f"opslib reports: {shown}")
    if state.summary_error:
        terminalreporter.write_line(f"opslib: {state.summary_error}", red=True)
    for note, bad in exposition.notes():
        terminalreporter.write_line(note, red=bad)
    for note, bad in config.stash.get(ALERTS_KEY, Alerting()).notes():
        terminalreporter.write_line(note, red=bad)


def _html_path(config: pytest.Config) -> Path | None:
    """The ``--html`` path as pytest-html resolves it, or None."""
    value = config.getoption("htmlpath", None)
    return _resolve(str(value)) if value else None


def _resolve(value: str) -> Path:
    return Path.cwd() / Path(os.path.expandvars(value)).expanduser()
