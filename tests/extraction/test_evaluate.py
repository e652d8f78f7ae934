"""``opslib models evaluate DIR``: figures, misses, gzip and encodings, bad directories."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from opslib.cli import main
from tests.extraction.pages import page

_PRICED = '<div class="price-block"><span class="price">{}</span></div>'


@pytest.fixture
def labelled(tmp_path: Path) -> Path:
    (tmp_path / "a.html").write_text(page(_PRICED.format("$12.50")))
    (tmp_path / "b.html.gz").write_bytes(gzip.compress(page(_PRICED.format("$7.00")).encode()))
    latin = page(_PRICED.format("12,99 €")).replace('charset="utf-8"', 'charset="windows-1252"')
    (tmp_path / "c.html").write_bytes(latin.replace("Lamp", "Lampe für Küche").encode("cp1252"))
    (tmp_path / "gone.html").write_text(page('<div class="x">Sold out: no longer available</div>'))
    (tmp_path / "wrong.html").write_text(page(_PRICED.format("$3.00")))
    expected = {
        "a.html": {"price": "12.50", "currency": "USD"},
        "b.html.gz": {"price": "7", "currency": None},
        "c.html": {"price": "12.99", "currency": "EUR"},
        "gone.html": {"price": None, "currency": None},
        "wrong.html": {"price": "4.00", "currency": "USD"},
        "missing.html": {"price": "1.00", "currency": None},
    }
    (tmp_path / "expected.json").write_text(json.dumps(expected))
    return tmp_path


def test_text_figures_and_misses(labelled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "evaluate", str(labelled)]) == 0
    out = capsys.readouterr().out
    # 3 right of 5 with a price; 4 prices given (wrong.html's is wrong)
    assert "precision 0.750  recall 0.600  F1 0.667" in out
    assert "currency accuracy 1.000" in out
    rows = [line.split()[:3] for line in out.splitlines() if line.startswith(("wrong", "miss"))]
    assert rows == [
        ["miss", "expected", "got"],
        ["missing.html", "1.00", "none"],
        ["wrong.html", "4.00", "3.00"],
    ]


def test_json(labelled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "evaluate", str(labelled), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert (payload["precision"], payload["recall"], payload["f1"]) == (0.75, 0.6, 0.6667)
    assert sorted(m["page"] for m in payload["misses"]) == ["missing.html", "wrong.html"]


def test_a_false_positive_lowers_precision(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "p.html").write_text(page(_PRICED.format("$5.00")))
    (tmp_path / "expected.json").write_text(json.dumps({"p.html": {"price": None}}))
    assert main(["--json", "models", "evaluate", str(tmp_path)]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert (payload["precision"], payload["recall"]) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: None, "expected.json is missing"),
        (lambda d: (d / "expected.json").write_text("{nope"), "cannot be read"),
        (lambda d: (d / "expected.json").write_text("[1]"), "must map page file names"),
        (lambda d: (d / "expected.json").write_text('{"a.html": {"price": "x"}}'), "not a number"),
    ],
    ids=["no-expected", "bad-json", "not-a-map", "bad-price"],
)
def test_bad_directory_one_line_exit_2(
    tmp_path: Path, setup: object, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert callable(setup)
    setup(tmp_path)
    assert main(["models", "evaluate", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert message in err[0]


def test_not_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "evaluate", str(tmp_path / "nope"), "--json"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"opslib: error: {tmp_path / 'nope'} is not a directory"]
