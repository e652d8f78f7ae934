"""The extraction-quality loop of issue 12 against the live lab, from the command line: a shop
whose scrapers send conditional requests (caching) relaunches its template (site-change); the
scrapers' confidence for it drops and the emergency.data_quality confidence check names it;
`opslib sites changes` names it; a pattern is generated from its recent high-confidence history
(the pages fetched now), tested and deployed; the lab's workers read it (PatternStore) on pages
that did not change since (no 304 then) and the confidence recovers, the check passes; the new
template becomes the baseline. Healed (the old template back), the pattern is rolled back and
the engine alone reads the shop again."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from psycopg import sql

from opslib import quality
from opslib.adapters import Database
from opslib.cli import main
from opslib.config import Settings, load_settings
from opslib.lab import Lab
from opslib.results import CheckResult
from opslib.sites import site_changes
from tests.support import poll_until


@pytest.fixture
def stack(
    healthy_lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Database, Settings, str]]:
    monkeypatch.setenv("OPSLIB_CONFIG", str(healthy_lab.config_file))
    monkeypatch.setenv("OPSLIB_ACTOR", "lab-test")
    settings = load_settings(healthy_lab.config_file)
    assert settings.database_dsn is not None
    target = healthy_lab.domains[4]
    with Database(settings.database_dsn, connect_timeout=settings.timeouts.connect) as db:
        # nothing of this domain's from an earlier test: the engine alone reads it
        db.execute("DELETE FROM opslib.extraction_patterns WHERE domain = %s", (target,))
        try:
            yield db, settings, target
        finally:
            healthy_lab.heal()
            for table in ("extraction_patterns", "reference_pages", "site_baselines", "strategies"):
                query = sql.SQL("DELETE FROM {} WHERE domain = %s")
                db.execute(query.format(sql.Identifier("opslib", table)), (target,))


def _low(db: Database, settings: Settings) -> CheckResult:
    return quality.low_confidence_domains(db, settings)


def _red(result: CheckResult) -> set[str]:
    return {m.subject for m in result.problems if m.subject}


def _run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(argv)
    return code, capsys.readouterr().out


def test_site_change_to_recovered_confidence(
    healthy_lab: Lab, stack: tuple[Database, Settings, str], capsys: pytest.CaptureFixture[str]
) -> None:
    db, settings, target = stack
    calm = poll_until(lambda: _low(db, settings), lambda r: target not in _red(r), 150)
    assert target not in _red(calm), calm.message()
    # conditional requests on (the runbook's caching): a page that did not change since is a
    # 304 and not extracted again, yet a pattern deployed meanwhile must read it
    assert main(["domains", "caching", target, "on"]) == 0
    first = site_changes(db, settings)  # the first look records the baselines
    assert target not in {m.subject for m in first.problems}, first.message()

    healthy_lab.inject("site-change", target)
    # the scrapers' confidence drops: the check names the domain
    dropped = poll_until(lambda: _low(db, settings), lambda r: target in _red(r), 150, 5)
    assert target in _red(dropped), dropped.message()

    code, out = _run(capsys, ["sites", "changes", target, "--json"])
    assert code == 2, out
    assert json.loads(out)["changed"] == [target]

    # a pattern from the recent high-confidence history, the pages fetched now
    code, out = _run(capsys, ["patterns", "generate", target, "--json"])
    proposal = json.loads(out)
    assert code == 0, out
    assert proposal["passed"], out
    assert proposal["samples"] >= 5, out
    pattern = proposal["pattern"]
    given = ["--selector", pattern["selector"]]
    if pattern["kind"] == "xpath":
        given.append("--xpath")
    for option in ("attribute", "regex", "currency"):
        if pattern[option]:
            given += [f"--{option}", pattern[option]]

    code, out = _run(capsys, ["patterns", "test", target, *given, "--json"])
    tested = json.loads(out)
    assert code == 0, out
    assert tested["accuracy"] == 1.0, out

    # reference pages of the new template (known prices from history), and the deploy
    # tested on them
    assert main(["patterns", "reference", "collect", target, "--replace"]) == 0
    code, out = _run(capsys, ["--json", "patterns", "deploy", target, *given])
    assert code == 0, out
    assert json.loads(out)["version"] == 1, out

    # the workers read it within their cache's 5 s; the 1 min window moves past the bad rows
    recovered = poll_until(lambda: _low(db, settings), lambda r: target not in _red(r), 180, 5)
    assert target not in _red(recovered), recovered.message()
    assert main(["sites", "changes", target, "--save-baseline"]) == 0
    code, out = _run(capsys, ["sites", "changes", target, "--json"])
    assert code == 0, out

    # the old template back: the pattern is rolled back, the engine alone reads the shop
    healthy_lab.heal("site-change")
    code, out = _run(capsys, ["--json", "patterns", "rollback", target])
    assert code == 0, out
    assert json.loads(out)["active"] is None, out
    back = poll_until(
        lambda: (_low(db, settings), quality.missing_price_rates(db, settings)),
        lambda rs: not any(target in _red(r) for r in rs),
        180,
        5,
    )
    for result in back:
        assert target not in _red(result), result.message()
