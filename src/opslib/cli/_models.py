"""``opslib models``: evaluate the price extraction on labelled pages, train its model."""

from __future__ import annotations

from pathlib import Path

import click

from opslib.cli._context import AppContext, pass_app

__all__ = ["models"]

_json = click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")


@click.group()
def models() -> None:
    """The price-element model of the extraction engine: evaluate, train."""


@models.command("evaluate")
@click.argument("directory", type=click.Path(path_type=Path))
@_json
@pass_app
def evaluate(app: AppContext, directory: Path, as_json: bool) -> None:
    """Score the extraction engine on the pages of DIRECTORY.

    DIRECTORY holds pages (*.html or *.html.gz, any encoding) and expected.json, mapping each
    page's file name to {"price": "1299.00" or null, "currency": "EUR" or null}. Prints the
    precision, recall and F1 of the price (equal as decimals; null means no price on the
    page), the currency accuracy apart, and the misses.
    """
    from opslib.extraction import evaluate_dir

    result = evaluate_dir(directory)
    out = app.output
    if as_json or out.as_json:
        out.as_json = True
        out.data(result.summary())
        return
    currency = result.currency_accuracy
    out.info(
        f"pages {len(result.pages)}  with a price {result.expected}  answered {result.predicted}"
        f"  right {result.true_positives}  ({result.seconds:.2f} s)"
    )
    out.info(f"precision {result.precision:.3f}  recall {result.recall:.3f}  F1 {result.f1:.3f}")
    out.info(
        "currency accuracy "
        + ("n/a (no page names its currency)" if currency is None else f"{currency:.3f}")
    )
    if result.misses:
        out.info("")
        out.table(
            ("miss", "expected", "got", "confidence", "method", "reason"),
            [
                (
                    p.name,
                    p.expected_price if p.expected_price is not None else "none",
                    p.extraction.price if p.extraction.price is not None else "none",
                    f"{p.extraction.confidence:.2f}",
                    p.extraction.method,
                    p.extraction.reason or "",
                )
                for p in result.misses
            ],
        )


@models.command("train")
@click.option("--pages", type=click.IntRange(100, 200_000), default=6000, show_default=True)
@click.option("--seed", type=int, default=20261202, show_default=True)
@click.option("--epochs", type=click.IntRange(1, 100), default=8, show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the model file here (default: only print the figures).",
)
@_json
@pass_app
def train_cmd(
    app: AppContext, *, pages: int, seed: int, epochs: int, out: Path | None, as_json: bool
) -> None:
    """Train the price-element model on synthetic shop pages (60 % fit, 20 % calibration,
    20 % held out) and print the held-out figures and the reliability table."""
    from opslib.extraction._train import train

    report = train(pages=pages, seed=seed, epochs=epochs)
    if out is not None:
        report.model.save(out)
    output = app.output
    output.as_json = output.as_json or as_json
    figures = {
        "pages": report.pages,
        "held_out_precision": round(report.precision, 4),
        "held_out_recall": round(report.recall, 4),
        "held_out_f1": round(report.f1, 4),
        "platt": [round(x, 4) for x in report.model.platt],
        "reliability": [
            {
                "confidence": f"[{b.low:.2f}, {b.high:.2f})",
                "answers": b.count,
                "mean_confidence": round(b.mean_confidence, 3),
                "accuracy": round(b.accuracy, 3),
            }
            for b in report.table
        ],
        "model_file": str(out) if out else None,
    }
    if output.as_json:
        output.data(figures)
        return
    output.info(
        f"held out ({report.pages // 5} synthetic pages): precision {report.precision:.3f}"
        f"  recall {report.recall:.3f}  F1 {report.f1:.3f}"
    )
    output.info("")
    output.table(
        ("confidence", "answers", "mean confidence", "accuracy"),
        [
            (
                f"[{b.low:.2f}, {b.high:.2f})",
                b.count,
                f"{b.mean_confidence:.3f}",
                f"{b.accuracy:.3f}",
            )
            for b in report.table
        ],
    )
    if out is not None:
        output.info(f"\nmodel written to {out}")
