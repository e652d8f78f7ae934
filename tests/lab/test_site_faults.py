"""The shop faults of the high-error-rate emergency (site-down, site-slow, site-blocking,
rate-limited), each diagnosed by ``opslib.sites`` with its verdict on the lab, and healed."""

from __future__ import annotations

import json

import pytest

from opslib.cli import main
from opslib.config import load_settings
from opslib.lab import Lab
from opslib.proxies import ProxyPool
from opslib.sites import SiteReport, Verdict, sample_proxies, site_targets, verify_sites
from tests.lab.conftest import product_page


def _verify(lab: Lab) -> SiteReport:
    settings = load_settings(lab.config_file)
    with lab.database() as db:
        targets = site_targets(db, settings.tables)
        proxies = sample_proxies(ProxyPool(db, settings.proxies), 3)
    assert len(proxies) == 3
    return verify_sites(targets, settings, proxies)


def _verdicts(report: SiteReport) -> dict[str, Verdict]:
    return {v.domain: v.verdict for v in report.verdicts}


def test_shop_faults_get_their_verdicts(
    healthy_lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    lab = healthy_lab
    healthy = _verify(lab)
    assert set(_verdicts(healthy)) == set(lab.domains)
    assert set(_verdicts(healthy).values()) == {Verdict.UP}, [v.evidence for v in healthy.verdicts]
    down, blocking, limited, slow = lab.domains[1:5]
    assert "503" in lab.inject("site-down", target=down)
    assert "4 s late" in lab.inject("site-slow", target=slow)
    assert "captcha" in lab.inject("site-blocking", target=blocking)
    assert "429" in lab.inject("rate-limited", target=limited)
    assert product_page(lab.settings, blocking, 3).status_code == 200  # directly: fine

    report = _verify(lab)
    verdicts = _verdicts(report)
    assert verdicts[down] is Verdict.DOWN, report.of(down).evidence
    assert verdicts[blocking] is Verdict.BLOCKING, report.of(blocking).evidence
    assert "refused through 3 of 3 proxies" in report.of(blocking).reason
    assert verdicts[limited] is Verdict.RATE_LIMITED, report.of(limited).evidence
    retry = report.of(limited).retry_after
    assert retry is not None
    assert 1 <= retry <= 2
    assert report.of(limited).action == f"opslib ratelimit set {limited} --rate 1/s"
    assert verdicts[slow] is Verdict.SLOW, report.of(slow).evidence
    others = {d: v for d, v in verdicts.items() if d not in (down, blocking, limited, slow)}
    assert set(others.values()) == {Verdict.UP}

    code = main(["--config", str(lab.config_file), "sites", "verify", down, "--json"])
    out, _err = capsys.readouterr()
    assert code == 2
    [shown] = json.loads(out)["sites"]
    assert (shown["domain"], shown["verdict"]) == (down, "down")

    assert len(lab.heal()) == 4
    assert set(_verdicts(_verify(lab)).values()) == {Verdict.UP}
