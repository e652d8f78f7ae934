"""Training the price-element model on synthetic pages, with held-out calibration and test.

Pages are split 60/20/20: the weights are fitted on the first part (softmax over each page's
candidates and "no price", L2, AdaGrad), the Platt scaling of the winner's probability on the
second, and the figures (precision, recall, F1, the reliability table) come from the third.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from opslib.extraction._model import PriceModel, _logit
from opslib.extraction._page import PageAnalysis, analyse, parse_document
from opslib.extraction._synth import synthetic_page

__all__ = ["Bin", "TrainingReport", "reliability", "train"]

_NONE = "none|"


@dataclass(frozen=True)
class Bin:
    """One row of a reliability table: answers whose confidence fell in [low, high)."""

    low: float
    high: float
    count: int
    mean_confidence: float
    accuracy: float


@dataclass(frozen=True)
class TrainingReport:
    """The trained model and its figures on held-out synthetic pages."""

    model: PriceModel
    pages: int
    precision: float
    recall: float
    f1: float
    table: tuple[Bin, ...]


def _labelled(seed: int, count: int) -> list[tuple[PageAnalysis, Decimal | None]]:
    rng = random.Random(seed)  # noqa: S311 - shuffles data, not a secret
    out = []
    for _ in range(count):
        page = synthetic_page(rng)
        doc = parse_document(page.html)
        if doc is not None:
            out.append((analyse(doc), page.price))
    return out


def _fit(
    data: Sequence[tuple[PageAnalysis, Decimal | None]],
    epochs: int,
    seed: int,
    l2: float = 1e-4,
    rate: float = 0.3,
) -> dict[str, float]:
    w: defaultdict[str, float] = defaultdict(float)
    g2: defaultdict[str, float] = defaultdict(lambda: 1e-8)
    order = list(range(len(data)))
    rng = random.Random(seed)  # noqa: S311 - shuffles data, not a secret
    for _ in range(epochs):
        rng.shuffle(order)
        for i in order:
            page, price = data[i]
            cands = page.candidates
            pos = [c.value == price for c in cands] if price is not None else [False] * len(cands)
            if price is not None and not any(pos):
                continue  # the price is not on the page as a candidate: nothing to learn
            rows = [c.features for c in cands]
            none_feats = {_NONE + k: v for k, v in page.page_features.items()}
            scores = [sum(w[k] * v for k, v in f.items()) for f in rows]
            none_score = sum(w[k] * v for k, v in none_feats.items())
            top = max([none_score, *scores])
            exps = [math.exp(s - top) for s in scores]
            none_exp = math.exp(none_score - top)
            total = sum(exps) + none_exp
            probs = [e / total for e in exps]
            none_p = none_exp / total
            mass = (
                none_p if price is None else sum(p for p, ok in zip(probs, pos, strict=True) if ok)
            )
            grads: defaultdict[str, float] = defaultdict(float)
            for f, p, ok in zip(rows, probs, pos, strict=True):
                g = p - (p / mass if ok else 0.0)
                if g:
                    for k, v in f.items():
                        grads[k] += g * v
            g_none = none_p - (1.0 if price is None else 0.0)
            for k, v in none_feats.items():
                grads[k] += g_none * v
            for k, grad in grads.items():
                step = grad + l2 * w[k]
                g2[k] += step * step
                w[k] -= rate * step / math.sqrt(g2[k])
    return dict(w)


def _platt(points: Sequence[tuple[float, bool]]) -> tuple[float, float]:
    a, b = 1.0, 0.0
    xs = [_logit(p) for p, _ in points]
    ys = [1.0 if ok else 0.0 for _, ok in points]
    for _ in range(100):  # Newton's method on the two parameters
        ga = gb = haa = hab = hbb = 0.0
        for x, y in zip(xs, ys, strict=True):
            # clamped: on (nearly) separable points Newton's steps grow a and b without bound
            q = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, a * x + b))))
            d = q - y
            ga += d * x
            gb += d
            h = max(q * (1 - q), 1e-9)
            haa += h * x * x
            hab += h * x
            hbb += h
        det = haa * hbb - hab * hab
        if abs(det) < 1e-12:
            break
        da = (hbb * ga - hab * gb) / det
        db = (haa * gb - hab * ga) / det
        a, b = a - da, b - db
        if abs(da) + abs(db) < 1e-9:
            break
    return a, b


def reliability(
    points: Sequence[tuple[float, bool]],
    edges: Sequence[float] = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0001),
) -> tuple[Bin, ...]:
    """Answers binned by confidence: how many, their mean confidence, how many were right."""
    bins = []
    for low, high in itertools.pairwise(edges):
        inside = [(c, ok) for c, ok in points if low <= c < high]
        if inside:
            bins.append(
                Bin(
                    low,
                    min(high, 1.0),
                    len(inside),
                    sum(c for c, _ in inside) / len(inside),
                    sum(1 for _, ok in inside if ok) / len(inside),
                )
            )
    return tuple(bins)


def train(pages: int = 6000, seed: int = 20261202, epochs: int = 8) -> TrainingReport:
    """Fit the model on synthetic pages; calibrate and measure it on held-out ones."""
    data = _labelled(seed, pages)
    n_fit, n_cal = int(pages * 0.6), int(pages * 0.2)
    fit, cal, test = data[:n_fit], data[n_fit : n_fit + n_cal], data[n_fit + n_cal :]
    model = PriceModel(_fit(fit, epochs, seed))
    model.platt = _platt(
        [
            (d.raw, d.value == price)
            for d, price in ((model.decide(page), price) for page, price in cal)
        ]
    )
    points = []
    right = given = expected = 0
    for page, price in test:
        decision = model.decide(page)
        points.append((decision.confidence, decision.value == price))
        given += decision.value is not None
        expected += price is not None
        right += price is not None and decision.value == price
    precision = right / given if given else 1.0
    recall = right / expected if expected else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    model.meta = {
        "pages": pages,
        "seed": seed,
        "epochs": epochs,
        "held_out_f1": round(f1, 4),
        "features": "opslib.extraction._page v1",
    }
    return TrainingReport(model, pages, precision, recall, f1, reliability(points))
