"""The price-element model: a conditional logit over a page's candidates and "no price".

Each candidate scores ``w . features``; "no price" scores ``w . page features``. A softmax over
them, summed per value, gives each value's probability; the best value's probability, passed
through the Platt scaling fitted on held-out pages, is the confidence. Pure Python: the weights
are a few hundred named numbers in a JSON file shipped with the package.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from opslib.extraction._page import PageAnalysis
from opslib.extraction._structured import Candidate

__all__ = ["MODEL_FILE", "Decision", "PriceModel", "default_model"]

MODEL_FILE = "price_model.json"
"""The model file shipped in the package (``opslib/extraction/price_model.json``)."""

_NONE_PREFIX = "none|"


@dataclass(frozen=True)
class Decision:
    """The model's answer for one page: a value (or None) and its raw and calibrated odds."""

    value: Decimal | None
    winner: Candidate | None
    raw: float
    confidence: float


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


class PriceModel:
    """Weights of the candidate features and the calibration of the winner's probability."""

    def __init__(
        self,
        weights: dict[str, float],
        platt: tuple[float, float] = (1.0, 0.0),
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.weights = weights
        self.platt = platt
        self.meta = meta or {}

    @classmethod
    def load(cls, path: Path | None = None) -> PriceModel:
        """Read a model file (default: the one shipped in the package)."""
        if path is None:
            text = resources.files("opslib.extraction").joinpath(MODEL_FILE).read_text("utf-8")
        else:
            text = path.read_text("utf-8")
        data = json.loads(text)
        return cls(
            {str(k): float(v) for k, v in data["weights"].items()},
            (float(data["platt"][0]), float(data["platt"][1])),
            data.get("meta", {}),
        )

    def save(self, path: Path) -> None:
        """Write the model file (weights rounded: the file stays a few kB)."""
        data = {
            "meta": self.meta,
            "platt": list(self.platt),
            "weights": {k: round(v, 5) for k, v in sorted(self.weights.items()) if abs(v) > 1e-5},
        }
        path.write_text(json.dumps(data, indent=0, sort_keys=True) + "\n", "utf-8")

    def score(self, features: dict[str, float], prefix: str = "") -> float:
        """``w . features`` (``prefix`` selects the "no price" weights)."""
        w = self.weights
        return sum(w.get(prefix + k, 0.0) * v for k, v in features.items())

    def probabilities(self, page: PageAnalysis) -> tuple[list[float], float]:
        """Softmax over the candidates and "no price": (per candidate, no price)."""
        scores = [self.score(c.features) for c in page.candidates]
        none = self.score(page.page_features, _NONE_PREFIX)
        top = max([none, *scores])
        exps = [math.exp(s - top) for s in scores]
        none_exp = math.exp(none - top)
        total = sum(exps) + none_exp
        return [e / total for e in exps], none_exp / total

    def calibrate(self, raw: float) -> float:
        """The Platt-scaled probability that an answer with raw probability ``raw`` is right."""
        a, b = self.platt
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, a * _logit(raw) + b))))

    def decide(self, page: PageAnalysis) -> Decision:
        """The most probable value (or None: no price on the page) and its confidence."""
        probs, none = self.probabilities(page)
        by_value: defaultdict[Decimal, float] = defaultdict(float)
        best: dict[Decimal, tuple[float, Candidate]] = {}
        for cand, p in zip(page.candidates, probs, strict=True):
            by_value[cand.value] += p
            if cand.value not in best or p > best[cand.value][0]:
                best[cand.value] = (p, cand)
        if not by_value or none >= max(by_value.values()):
            return Decision(None, None, none, self.calibrate(none))
        value = max(by_value, key=lambda v: by_value[v])
        raw = by_value[value]
        return Decision(value, best[value][1], raw, self.calibrate(raw))


@cache
def default_model() -> PriceModel:
    """The model shipped with the package, read once."""
    return PriceModel.load()
