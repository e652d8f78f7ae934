"""``opslib models train --from DIR``: the model retrained on pages ``opslib models collect``
wrote (a shop on 127.0.0.1 with its price history in the real test PostgreSQL) is sure of the
price on another shop of that layout, where the shipped model hesitates."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from opslib.cli import main
from opslib.extraction import extract
from opslib.extraction._model import PriceModel
from tests.dbkit import TestDatabase
from tests.patterns.pages import lab_samples, write_dir
from tests.patterns.test_models_and_history import DOMAIN, _history, env, shop

__all__ = ["env", "shop"]  # the fixtures, shared with tests/patterns


def test_train_from_collected_pages(
    env: TestDatabase,
    shop: tuple[int, list[tuple[str, Decimal | None]]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    port, pages = shop
    _history(env, port, pages)
    collected = tmp_path / "collected"
    assert main(["models", "collect", DOMAIN, "--out", str(collected)]) == 0
    kept = json.loads((collected / "expected.json").read_text())
    assert len(kept) == sum(p is not None for _, p in pages)
    capsys.readouterr()

    model_file = tmp_path / "model.json"
    argv = ["models", "train", "--from", str(collected), "--pages", "300", "--epochs", "2",
            "--out", str(model_file), "--json"]  # fmt: skip
    assert main(argv) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["collected_pages"] == len(kept)
    own = figures["collected_held_out"]
    assert own["pages"] == len(kept) - int(len(kept) * 0.6) - int(len(kept) * 0.2)
    assert own["f1"] == 1.0
    assert figures["held_out_f1"] > 0.8
    model = PriceModel.load(model_file)
    assert model.meta["collected_pages"] == len(kept)

    # another shop of the same layout, never collected: both read its prices right, the
    # retrained model with the confidence the scrapers need (the runbook's 0.8)
    other = [s for s in lab_samples("changed", domain_index=1) if s.price is not None]
    shipped = [extract(s.html) for s in other]
    retrained = [extract(s.html, model=model) for s in other]
    assert [e.price for e in retrained] == [s.price for s in other]
    mean = sum(e.confidence for e in retrained) / len(retrained)
    before = sum(e.confidence for e in shipped) / len(shipped)
    assert mean > 0.8 > before, (mean, before)

    # `models deploy --pages` evaluates it against the shipped model there, and takes it
    held = write_dir(tmp_path / "other", other)
    assert main(["models", "deploy", str(model_file), "--pages", str(held)]) == 0


def test_train_from_a_bad_directory_is_one_line(
    env: TestDatabase, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "train", "--from", str(tmp_path / "absent"), "--pages", "0"]) == 2
    err = capsys.readouterr().err
    assert "is not a directory" in err
    assert "Traceback" not in err
    (tmp_path / "few").mkdir()
    (tmp_path / "few" / "expected.json").write_text('{"a.html": {"price": "1.00"}}')
    (tmp_path / "few" / "a.html").write_text("<p>1,00 €</p>")
    assert main(["models", "train", "--from", str(tmp_path / "few"), "--pages", "0"]) == 2
    assert "too few to train on" in capsys.readouterr().err
