"""Every setting is checked (issue 9, item 2): a bad value is one ConfigError line naming it, a
plain value where a list is wanted is a list, a typo in an ``OPSLIB_*`` name is reported, and
no value of any field, from the environment or the file, ends in anything but Settings or a
ConfigError (hypothesis)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from opslib.config import NO_DATABASE, Settings, load_settings
from opslib.connect import open_database
from opslib.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
BAD: list[tuple[str, dict[str, str], str]] = [
    ("timeouts not json", {"OPSLIB_TIMEOUTS": "not json"}, "timeouts: not valid JSON"),
    ("thresholds not json", {"OPSLIB_THRESHOLDS": "{broken"}, "thresholds: not valid JSON"),
    ("warn beyond crit (above)",
     {"OPSLIB_THRESHOLDS": '{"health.cpu_percent": {"warn": 96, "crit": 90}}'},
     "health.cpu_percent: warn 96 lies beyond crit 90"),
    ("warn beyond crit (below)",
     {"OPSLIB_THRESHOLDS": '{"quality.price_coverage": {"warn": 0.5, "crit": 0.9}}'},
     "quality.price_coverage: warn 0.5 lies beyond crit 0.9"),
    ("warn beyond the default crit",
     {"OPSLIB_THRESHOLDS": '{"health.cpu_percent": {"warn": 97}}'},
     "health.cpu_percent: warn 97 lies beyond crit 95"),
    ("domain warn beyond the general crit",
     {"OPSLIB_THRESHOLDS": '{"quality.domain_confidence": {"crit": 0.7}}',
      "OPSLIB_DOMAINS": '{"a.test": {"thresholds": {"quality.domain_confidence": {"warn": 0.6}}}}'},
     "a.test: quality.domain_confidence: warn 0.6 lies beyond crit 0.7"),
    ("threshold NaN", {"OPSLIB_THRESHOLDS": '{"health.cpu_percent": {"warn": "nan"}}'},
     "thresholds.health.cpu_percent.warn"),
    ("country minimum negative", {"OPSLIB_PROXIES__REQUIRED_COUNTRIES": '{"US": -1}'},
     "US: minimum -1 is negative"),
    ("country not a code", {"OPSLIB_PROXIES__REQUIRED_COUNTRIES": '{"USA": 1}'},
     "'USA' is not a two-letter country code"),
    ("country twice", {"OPSLIB_PROXIES__REQUIRED_COUNTRIES": '{"us": 1, "US": 2}'},
     "listed twice"),
    ("metrics_urls empty", {"OPSLIB_METRICS_URLS": "[]"}, "metrics_urls: Value error, at least"),
    ("metrics_urls blank", {"OPSLIB_METRICS_URLS": ""}, "metrics_urls: Value error, at least"),
    ("docker_host ftp", {"OPSLIB_DOCKER_HOST": "ftp://x"}, "'ftp://x' is not a Docker address"),
    ("backup_dir empty", {"OPSLIB_BACKUPS__BACKUP_DIR": ""}, "backups.backup_dir: Value error"),
    ("config path empty", {"OPSLIB_BACKUPS__CONFIG_PATHS": '["/etc", " "]'},
     "backups.config_paths: Value error, empty path"),
    ("typo", {"OPSLIB_PROMETHEUS_ULR": "http://x:1"},
     "OPSLIB_PROMETHEUS_ULR: not an opslib setting (from the environment; did you mean"
     " OPSLIB_PROMETHEUS_URL?)"),
    ("typo of a direct variable", {"OPSLIB_CONFG": "/x.toml"}, "did you mean OPSLIB_CONFIG?"),
    ("parts of a plain setting", {"OPSLIB_PROMETHEUS_URL__HOST": "x"},
     "OPSLIB_PROMETHEUS_URL has no parts"),
]  # fmt: skip


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with no ``OPSLIB_*`` but ``values`` (hypothesis runs many per test)."""
    saved = dict(os.environ)
    for name in [n for n in os.environ if n.upper().startswith("OPSLIB_")]:
        del os.environ[name]
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def empty_config(tmp_path: Path) -> Path:
    path = tmp_path / "opslib.toml"
    path.write_text("")
    return path


@pytest.mark.parametrize(("env", "expected"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_setting_is_one_line_naming_it(
    env: dict[str, str], expected: str, empty_config: Path
) -> None:
    with environment(env), pytest.raises(ConfigError) as caught:
        load_settings(empty_config)
    assert len(caught.value.problems) == 1, caught.value.problems
    assert expected in caught.value.problems[0]
    assert "\n" not in caught.value.problems[0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://127.0.0.1:9/metrics", ["http://127.0.0.1:9/metrics"]),
        ("http://a:1/m, http://b:2/m", ["http://a:1/m", "http://b:2/m"]),
        ("http://a:1/m?x=1,2,https://b/m", ["http://a:1/m?x=1,2", "https://b/m"]),
        ('["http://a:1/m"]', ["http://a:1/m"]),
    ],
)
def test_a_url_list_takes_plain_urls(value: str, expected: list[str], empty_config: Path) -> None:
    with environment({"OPSLIB_METRICS_URLS": value, "OPSLIB_PROXIES__TARGET_URLS": value}):
        loaded = load_settings(empty_config)
    assert loaded.metrics_urls == expected
    assert loaded.proxies.target_urls == expected


def test_names_and_paths_take_plain_values(empty_config: Path) -> None:
    env = {"OPSLIB_EXPECTED_SERVICES": "scraper, api", "OPSLIB_BACKUPS__CONFIG_PATHS": "/etc/a,b"}
    with environment(env):
        loaded = load_settings(empty_config)
    assert loaded.expected_services == ["scraper", "api"]
    assert [str(p) for p in loaded.backups.config_paths] == ["/etc/a,b"]  # a path may hold ","


def test_warn_follows_a_crit_tightened_past_it(empty_config: Path) -> None:
    env = {
        "OPSLIB_THRESHOLDS": json.dumps(
            {"health.cpu_percent": {"crit": 60}, "performance.processing_rate": {"crit": 2.0}}
        )
    }
    with environment(env):
        loaded = load_settings(empty_config)
    cpu = loaded.threshold("health.cpu_percent")
    assert (cpu.warn, cpu.crit) == (60, 60)  # the default warn (80) would never come first
    rate = loaded.threshold("performance.processing_rate")  # bad below: warn 1.0 follows up
    assert (rate.warn, rate.crit) == (2.0, 2.0)
    memory = loaded.threshold("health.memory_percent")
    assert (memory.warn, memory.crit) == (80, 95)  # untouched


def test_country_codes_are_upper_case(empty_config: Path) -> None:
    with environment({"OPSLIB_PROXIES__REQUIRED_COUNTRIES": '{"us": 2, "De": 0}'}):
        assert load_settings(empty_config).proxies.required_countries == {"us": 2, "de": 0}


@pytest.mark.parametrize("dsn", ["", "   "])
def test_an_empty_dsn_is_no_database(dsn: str, empty_config: Path) -> None:
    with environment({"OPSLIB_DATABASE_DSN": dsn}):
        loaded = load_settings(empty_config)
    assert loaded.database_dsn is None
    with pytest.raises(ConfigError, match=re.escape(NO_DATABASE)):
        open_database(loaded)


DOCKER_HOSTS = ["", "unix:///var/run/docker.sock", "tcp://10.0.0.1:2376", "ssh://ops@h",
                "npipe:////./pipe/docker_engine", "http://h:1"]  # fmt: skip


@pytest.mark.parametrize("host", DOCKER_HOSTS)
def test_docker_addresses_accepted(host: str, empty_config: Path) -> None:
    with environment({"OPSLIB_DOCKER_HOST": host}):
        assert load_settings(empty_config).docker_host == (host or None)


def test_every_variable_opslib_reads_itself_is_known(empty_config: Path) -> None:
    read: set[str] = set()
    pattern = re.compile(
        r"""(?:\.get|getenv)\(\s*["'](OPSLIB_[A-Z_]+)|environ\[["'](OPSLIB_[A-Z_]+)"""
    )
    for path in (ROOT / "src" / "opslib").rglob("*.py"):
        read |= {a or b for a, b in pattern.findall(path.read_text())}
    assert {"OPSLIB_CONFIG", "OPSLIB_LAB_DIR", "OPSLIB_LAB_PROMETHEUS"} <= read
    with environment(dict.fromkeys(sorted(read - {"OPSLIB_CONFIG"}), "1")):
        load_settings(empty_config)  # none of them is "not an opslib setting"


def test_a_value_that_is_not_json_stops_the_checks_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSLIB_")}
    env["OPSLIB_TIMEOUTS"] = "not json"
    env["OPSLIB_THRESHOLDS"] = "{broken"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "checks" / "daily"), "-p", "no:cacheprovider"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout[-2000:]
    text = done.stdout + done.stderr
    assert "Traceback" not in text
    assert "SettingsError" not in text
    assert "timeouts: not valid JSON" in text or "thresholds: not valid JSON" in text


# --- properties --------------------------------------------------------------------------------


def _env_names(model: type[BaseModel], prefix: str = "OPSLIB_") -> list[str]:
    """Every variable name a field of ``model`` answers to, nested sections included."""
    names = []
    for name, info in model.model_fields.items():
        names.append(prefix + name.upper())
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names += _env_names(annotation, prefix + name.upper() + "__")
    return names


def _problems(path: Path) -> tuple[str, ...] | None:
    """None when the settings load; else the ConfigError's problems (any other error raises)."""
    try:
        load_settings(path)
    except ConfigError as exc:
        return exc.problems
    return None


ENV_NAMES = _env_names(Settings)
_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=60)
_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)
_VALUES = (
    _TEXT
    | _JSONISH.map(json.dumps)
    | st.sampled_from(
        ["", " ", "[]", "{}", "null", "-1", "0", "1e309", "nan", "http://u:p@[x", "ftp://x", "US"]
    )
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(ENV_NAMES), _VALUES, min_size=1, max_size=3))
def test_any_environment_gives_settings_or_a_config_error(env: dict[str, str]) -> None:
    with environment({**env, "OPSLIB_CONFIG": os.devnull}):
        problems = _problems(Path(os.devnull))
    assert problems is None or (problems and all("\n" not in p for p in problems))


_TOML_KEYS = st.sampled_from(sorted(Settings.model_fields))


def _toml(value: object) -> str:
    """A TOML value (strings as JSON strings, tables inline)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)


_TOML_VALUES = st.recursive(
    st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.dictionaries(_TOML_KEYS, _TOML_VALUES, min_size=1, max_size=3))
def test_any_config_file_gives_settings_or_a_config_error(
    data: dict[str, object], tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("cfg") / "opslib.toml"
    path.write_text("".join(f"{k} = {_toml(v)}\n" for k, v in data.items()), encoding="utf-8")
    with environment({}):
        problems = _problems(path)
    assert problems is None or problems
