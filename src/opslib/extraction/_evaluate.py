"""Scoring the engine on labelled pages: precision, recall and F1 of the price."""

from __future__ import annotations

import gzip
import json
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from opslib.errors import InputError
from opslib.extraction._engine import extract
from opslib.extraction._types import Extraction

__all__ = ["Evaluation", "PageResult", "evaluate_dir"]

_MAX_FILE = 64 * 1024 * 1024


@dataclass(frozen=True)
class PageResult:
    """One labelled page: what was expected and what the engine answered."""

    name: str
    expected_price: Decimal | None
    expected_currency: str | None
    extraction: Extraction

    @property
    def right(self) -> bool:
        """The price (or its absence) is the expected one, equal as decimals."""
        return self.extraction.price == self.expected_price


@dataclass(frozen=True)
class Evaluation:
    """Price precision, recall and F1 over a directory, currency accuracy apart."""

    pages: tuple[PageResult, ...]
    seconds: float

    @property
    def true_positives(self) -> int:
        """Pages whose expected price was found."""
        return sum(1 for p in self.pages if p.expected_price is not None and p.right)

    @property
    def predicted(self) -> int:
        """Pages the engine gave a price for."""
        return sum(1 for p in self.pages if p.extraction.price is not None)

    @property
    def expected(self) -> int:
        """Pages that have a price."""
        return sum(1 for p in self.pages if p.expected_price is not None)

    @property
    def precision(self) -> float:
        """Right prices among the prices given (1.0 when none was given)."""
        return self.true_positives / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        """Right prices among the pages that have one (1.0 when none has)."""
        return self.true_positives / self.expected if self.expected else 1.0

    @property
    def f1(self) -> float:
        """The harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def currency_accuracy(self) -> float | None:
        """Right currencies among pages whose currency is known and whose price was found."""
        judged = [p for p in self.pages if p.expected_currency and p.right and p.expected_price]
        if not judged:
            return None
        return sum(1 for p in judged if p.extraction.currency == p.expected_currency) / len(judged)

    @property
    def misses(self) -> tuple[PageResult, ...]:
        """Pages whose answer was not the expected one."""
        return tuple(p for p in self.pages if not p.right)

    def summary(self) -> dict[str, Any]:
        """The figures as plain JSON values."""
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "currency_accuracy": None
            if self.currency_accuracy is None
            else round(self.currency_accuracy, 4),
            "pages": len(self.pages),
            "expected": self.expected,
            "predicted": self.predicted,
            "right": self.true_positives,
            "seconds": round(self.seconds, 3),
            "misses": [
                {
                    "page": p.name,
                    "expected": None if p.expected_price is None else str(p.expected_price),
                    "got": None if p.extraction.price is None else str(p.extraction.price),
                    "confidence": round(p.extraction.confidence, 3),
                    "method": p.extraction.method,
                    "reason": p.extraction.reason,
                }
                for p in self.misses
            ],
        }


def _decimal(value: object, where: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise InputError(f"{where}: price {value!r} is not a number") from None


def _labels(directory: Path) -> dict[str, tuple[Decimal | None, str | None]]:
    if not directory.is_dir():
        raise InputError(f"{directory} is not a directory")
    path = directory / "expected.json"
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path} is missing") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path} cannot be read: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path} must map page file names to {{price, currency}}")
    labels: dict[str, tuple[Decimal | None, str | None]] = {}
    for name, entry in data.items():
        if not isinstance(entry, dict):
            raise InputError(f"{path}: {name} must map to {{price, currency}}")
        currency = entry.get("currency")
        labels[str(name)] = (
            _decimal(entry.get("price"), f"{path}: {name}"),
            str(currency) if currency else None,
        )
    return labels


def _read(path: Path) -> bytes:
    with path.open("rb") as raw:
        if path.name.endswith(".gz"):
            with gzip.open(raw) as unzipped:
                return unzipped.read(_MAX_FILE)
        return raw.read(_MAX_FILE)


def evaluate_dir(directory: Path) -> Evaluation:
    """Run ``extract`` on each labelled page of ``directory`` (``expected.json`` beside them).

    A page named in ``expected.json`` that is missing or unreadable counts as no answer.
    Raises InputError for a missing directory or a bad ``expected.json``.
    """
    labels = _labels(directory)
    results = []
    started = time.perf_counter()
    for name, (price, currency) in sorted(labels.items()):
        path = directory / name
        try:
            got = extract(_read(path))
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            got = Extraction(None, None, 0.0, "none", f"cannot read the page: {exc}")
        results.append(PageResult(name, price, currency, got))
    return Evaluation(tuple(results), time.perf_counter() - started)
