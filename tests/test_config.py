from __future__ import annotations

from pathlib import Path

import pytest

from opslib.cli import main
from opslib.config import NO_DATABASE, config_path, load_settings
from opslib.errors import ConfigError
from opslib.results import Threshold


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("OPSLIB_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_follow_the_platform_contract() -> None:
    s = load_settings()
    assert s.compose_project == "pricewatch"
    assert s.prometheus_url == "http://localhost:9090"
    assert s.metrics_urls == ["http://localhost:8000/metrics"]
    assert s.database_dsn is None


def test_precedence_defaults_file_env_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "opslib.toml"
    cfg.write_text(
        'compose_project = "fromfile"\nscraper_service = "fromfile"\n'
        'prometheus_url = "http://127.0.0.1:1"\n[timeouts]\nhttp = 7\n'
    )
    monkeypatch.setenv("OPSLIB_SCRAPER_SERVICE", "fromenv")
    monkeypatch.setenv("OPSLIB_PROMETHEUS_URL", "http://127.0.0.1:2")
    s = load_settings(compose_project="fromflag")
    assert s.compose_project == "fromflag"
    assert s.scraper_service == "fromenv"
    assert s.prometheus_url == "http://127.0.0.1:2"
    assert s.timeouts.http == 7
    assert s.timeouts.connect == 3.0


def test_config_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "elsewhere.toml"
    other.write_text('compose_project = "other"\n')
    monkeypatch.setenv("OPSLIB_CONFIG", str(other))
    assert config_path() == other
    assert load_settings().compose_project == "other"


def test_thresholds_overridden_globally_and_per_domain(tmp_path: Path) -> None:
    (tmp_path / "opslib.toml").write_text(
        '[thresholds."health.cpu_percent"]\nwarn = 50\n'
        '[domains."alpha-shop.test".thresholds."quality.domain_confidence"]\ncrit = 0.3\n'
    )
    s = load_settings()
    assert s.threshold("health.cpu_percent") == Threshold(warn=50, crit=95, unit="%")
    assert s.threshold("quality.domain_confidence", "alpha-shop.test").crit == 0.3
    assert s.threshold("quality.domain_confidence", "beta-shop.test").crit == 0.6


def test_bad_values_one_line_per_field_naming_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "opslib.toml").write_text(
        'prometheus_url = "ftp://x"\nquality_hours = 0\nbogus = 1\n'
    )
    monkeypatch.setenv("OPSLIB_TIMEOUTS__HTTP", "soon")
    with pytest.raises(ConfigError) as info:
        load_settings()
    problems = info.value.problems
    assert len(problems) == 4
    by_field = {p.split(":")[0]: p for p in problems}
    assert "opslib.toml" in by_field["prometheus_url"]
    assert "opslib.toml" in by_field["quality_hours"]
    assert "unknown setting" in by_field["bogus"]
    assert "environment variable OPSLIB_TIMEOUTS__HTTP" in by_field["timeouts.http"]
    assert info.value.exit_code == 2


def test_unknown_threshold_name_rejected(tmp_path: Path) -> None:
    (tmp_path / "opslib.toml").write_text('[thresholds."health.cpu"]\nwarn = 1\n')
    with pytest.raises(ConfigError, match="invalid configuration") as info:
        load_settings()
    assert "health.cpu" in info.value.problems[0]


def test_unparseable_file_and_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "opslib.toml").write_text("this is = = not toml")
    with pytest.raises(ConfigError, match="not TOML"):
        load_settings()
    monkeypatch.setenv("OPSLIB_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings()


def test_dsn_is_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSLIB_DATABASE_DSN", "host=h password=topsecret99")
    s = load_settings()
    assert "topsecret99" not in repr(s)
    assert "topsecret99" not in str(s.model_dump())
    assert s.database_dsn is not None
    assert s.database_dsn.get_secret_value().endswith("topsecret99")


def test_a_command_needing_the_database_says_none_is_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPSLIB_CONFIG", raising=False)
    monkeypatch.delenv("OPSLIB_DATABASE_DSN", raising=False)
    assert main(["proxies", "list"]) == 2
    err = capsys.readouterr().err
    assert err == f"opslib: error: {NO_DATABASE}\n"
    assert "Traceback" not in err
    monkeypatch.setenv("OPSLIB_DATABASE_DSN", "postgresql://u:s3cret@127.0.0.1:1/x")
    assert load_settings().secrets() == ("postgresql://u:s3cret@127.0.0.1:1/x",)


def test_proxy_urls_are_checked_when_read(tmp_path: Path) -> None:
    (tmp_path / "opslib.toml").write_text(
        '[proxies]\njudge_url = "http://[::1/judge"\ntarget_urls = ["https://shop.test/", "x"]\n'
    )
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path / "opslib.toml")
    by_field = {p.split(":")[0]: p for p in info.value.problems}
    assert "not a valid URL" in by_field["proxies.judge_url"]
    assert "not an http(s) URL: 'x'" in by_field["proxies.target_urls"]


def test_a_moved_backup_limit_names_its_threshold(tmp_path: Path) -> None:
    (tmp_path / "opslib.toml").write_text("[backups]\nrpo_hours = 12\n")
    with pytest.raises(ConfigError) as raised:
        load_settings(tmp_path / "opslib.toml")
    (problem,) = raised.value.problems
    assert "backups.rpo_hours is now the crit of threshold backups.newest_age" in problem
    assert '[thresholds."backups.newest_age"] crit = 12' in problem


def test_the_backup_age_limit_is_one_threshold(tmp_path: Path) -> None:
    (tmp_path / "opslib.toml").write_text(
        '[thresholds."backups.newest_age"]\nwarn = 6\ncrit = 12\n'
    )
    threshold = load_settings(tmp_path / "opslib.toml").threshold("backups.newest_age")
    assert (threshold.warn, threshold.crit, threshold.unit) == (6, 12, "h")
