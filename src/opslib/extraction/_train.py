"""Training the price-element model on synthetic pages and on collected ones (a directory
written by ``opslib models collect``, or any labelled directory ``models evaluate`` reads),
with held-out calibration and test.

Each source is split 60/20/20: the weights are fitted on the first parts (softmax over each
page's candidates and "no price", L2, AdaGrad; collected pages repeated ``weight`` times, as
they are few), the Platt scaling of the winner's probability on the second, and the figures
(precision, recall, F1, the reliability table) come from the third, the collected pages' apart.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from opslib.errors import InputError
from opslib.extraction._decode import decode_page
from opslib.extraction._model import PriceModel, _logit
from opslib.extraction._page import PageAnalysis, analyse, parse_document
from opslib.extraction._synth import synthetic_page

__all__ = ["Bin", "Score", "TrainingReport", "labelled_pages", "reliability", "train"]

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
class Score:
    """Price precision, recall and F1 on some held-out pages."""

    pages: int
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class TrainingReport:
    """The trained model and its figures on held-out pages (all of them; the collected ones
    apart in ``collected``, None when none was given)."""

    model: PriceModel
    pages: int
    precision: float
    recall: float
    f1: float
    table: tuple[Bin, ...]
    collected_pages: int = 0
    collected: Score | None = None


Labelled = list[tuple[PageAnalysis, Decimal | None]]


def labelled_pages(directory: Path) -> Labelled:
    """The pages of ``directory`` (``expected.json`` beside them, as ``models evaluate`` and
    ``models collect`` have it), analysed, each with its known price; pages that cannot be
    read or parsed are left out. Raises InputError for a missing directory or a bad
    ``expected.json``, or when no page can be read."""
    from opslib.extraction._evaluate import _labels, _read

    out: Labelled = []
    for name, (price, _currency) in sorted(_labels(directory).items()):
        try:
            raw = _read(directory / name)
        except (OSError, EOFError):  # gzip.BadGzipFile is an OSError
            continue
        decoded = decode_page(raw)
        doc = None if decoded.problem else parse_document(decoded.text)
        if doc is not None:
            out.append((analyse(doc), price))
    if not out:
        raise InputError(f"{directory}: no page of expected.json could be read")
    return out


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


def _split(data: Labelled) -> tuple[Labelled, Labelled, Labelled]:
    n_fit, n_cal = int(len(data) * 0.6), int(len(data) * 0.2)
    return data[:n_fit], data[n_fit : n_fit + n_cal], data[n_fit + n_cal :]


def _score(model: PriceModel, test: Labelled) -> tuple[Score, list[tuple[float, bool]]]:
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
    return Score(len(test), precision, recall, f1), points


def train(
    pages: int = 6000,
    seed: int = 20261202,
    epochs: int = 8,
    collected: Sequence[tuple[PageAnalysis, Decimal | None]] = (),
    weight: int = 3,
) -> TrainingReport:
    """Fit the model on ``pages`` synthetic pages and the ``collected`` ones (see
    :func:`labelled_pages`; fitted ``weight`` times each); calibrate and measure it on
    held-out pages of both. Raises InputError when there are fewer than 10 pages in all."""
    if pages + len(collected) < 10:
        raise InputError(f"{pages + len(collected)} pages are too few to train on (10 at least)")
    synth_fit, synth_cal, synth_test = _split(_labelled(seed, pages))
    mine = list(collected)
    random.Random(seed).shuffle(mine)  # noqa: S311 - a reproducible split
    own_fit, own_cal, own_test = _split(mine)
    fit = synth_fit + own_fit * max(1, weight)
    model = PriceModel(_fit(fit, epochs, seed))
    model.platt = _platt(
        [
            (d.raw, d.value == price)
            for d, price in ((model.decide(page), price) for page, price in synth_cal + own_cal)
        ]
    )
    overall, points = _score(model, synth_test + own_test)
    own = _score(model, own_test)[0] if mine else None
    model.meta = {
        "pages": pages,
        "collected_pages": len(mine),
        "seed": seed,
        "epochs": epochs,
        "held_out_f1": round(overall.f1, 4),
        "features": "opslib.extraction._page v1",
    }
    if own is not None:
        model.meta["collected_held_out_f1"] = round(own.f1, 4)
    return TrainingReport(
        model, pages, overall.precision, overall.recall, overall.f1, reliability(points),
        len(mine), own,
    )  # fmt: skip
