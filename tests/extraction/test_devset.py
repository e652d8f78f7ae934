"""The dev set of real product pages (read in place from shared/, never copied here)."""

from __future__ import annotations

from pathlib import Path

from opslib.extraction import evaluate_dir
from tests.support import require

DEV = Path(__file__).resolve().parents[3] / "shared" / "dev-data" / "product-pages"
F1_FLOOR = 0.85  # 0.94 when written; the one miss is a page labelled "no price" that shows one


def test_dev_set_f1_floor() -> None:
    require((DEV / "expected.json").is_file(), f"the dev set is not at {DEV}")
    result = evaluate_dir(DEV)
    assert len(result.pages) == 10
    assert result.f1 >= F1_FLOOR, result.summary()
    assert result.precision >= 0.85, result.summary()
    assert result.recall >= 0.85, result.summary()
    assert result.currency_accuracy in (None, 1.0)
