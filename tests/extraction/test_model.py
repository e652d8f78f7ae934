"""The price-element model: calibrated on pages it never saw, retrainable from the command."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from opslib.cli import main
from opslib.extraction import extract
from opslib.extraction._model import PriceModel, default_model
from opslib.extraction._synth import synthetic_page
from opslib.extraction._train import reliability


def test_the_shipped_model_is_calibrated_on_fresh_synthetic_pages() -> None:
    rng = random.Random(99)  # not the training seed: pages the model never saw
    points = []
    for _ in range(600):
        shown = synthetic_page(rng)
        got = extract(shown.html)
        points.append((got.confidence, got.price == shown.price))
    accuracy = sum(ok for _, ok in points) / len(points)
    mean = sum(c for c, _ in points) / len(points)
    assert accuracy > 0.95
    assert abs(mean - accuracy) < 0.05
    for row in reliability(points):
        if row.count >= 40:
            assert abs(row.mean_confidence - row.accuracy) < 0.1, row


def test_the_model_file_is_small_and_says_how_it_was_made() -> None:
    model = default_model()
    assert model.meta["held_out_f1"] > 0.9
    assert 50 < len(model.weights) < 5000
    a, _b = model.platt
    assert a > 0  # a higher raw probability never means a lower confidence
    assert model.calibrate(0.99) > model.calibrate(0.6) > model.calibrate(0.2)


def test_train_writes_a_model_that_extract_uses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "model.json"
    argv = ["models", "train", "--pages", "300", "--epochs", "2", "--out", str(out), "--json"]
    assert main(argv) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["held_out_f1"] > 0.8
    assert sum(row["answers"] for row in figures["reliability"]) == 60
    assert out.stat().st_size < 3 * 1024 * 1024
    model = PriceModel.load(out)
    page = synthetic_page(random.Random(5))
    assert extract(page.html, model=model).price == page.price


def test_train_prints_the_reliability_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "train", "--pages", "200", "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "held out (40 synthetic pages)" in out
    assert "confidence" in out
    assert "accuracy" in out
