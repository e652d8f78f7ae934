"""``opslib models``: evaluate the price extraction on labelled pages, train its model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from opslib.cli._context import AppContext, pass_app
from opslib.cli._patterns import pool_proxies, via_proxies_option
from opslib.errors import InputError

__all__ = ["models"]

_json = click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")


@click.group()
def models() -> None:
    """The price-element model of the extraction engine: evaluate, train, collect, deploy."""


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
@click.option("--pages", type=click.IntRange(0, 200_000), default=6000, show_default=True,
              help="Synthetic pages (0: the collected ones alone).")  # fmt: skip
@click.option(
    "--from",
    "sources",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Also train on the labelled pages of DIR (written by `opslib models collect`, or any"
    " directory `models evaluate` reads); repeatable.",
)
@click.option("--weight", type=click.IntRange(1, 100), default=3, show_default=True,
              help="How many times each collected page counts in the fit.")  # fmt: skip
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
    app: AppContext,
    *,
    pages: int,
    sources: tuple[Path, ...],
    weight: int,
    seed: int,
    epochs: int,
    out: Path | None,
    as_json: bool,
) -> None:
    """Train the price-element model on synthetic shop pages and the collected pages of
    --from DIR (each split 60 % fit, 20 % calibration, 20 % held out) and print the held-out
    figures (the collected pages' apart) and the reliability table. Deploy the file written
    with --out by `opslib models deploy FILE --pages DIR`."""
    from opslib.extraction._train import labelled_pages, train

    collected = [page for source in sources for page in labelled_pages(source)]
    report = train(pages=pages, seed=seed, epochs=epochs, collected=collected, weight=weight)
    if out is not None:
        try:
            report.model.save(out)
        except OSError as exc:
            raise InputError(f"cannot write {out}: {exc.strerror or exc}") from exc
    output = app.output
    output.as_json = output.as_json or as_json
    own = report.collected
    figures = {
        "pages": report.pages,
        "collected_pages": report.collected_pages,
        "held_out_precision": round(report.precision, 4),
        "held_out_recall": round(report.recall, 4),
        "held_out_f1": round(report.f1, 4),
        "collected_held_out": None
        if own is None
        else {
            "pages": own.pages,
            "precision": round(own.precision, 4),
            "recall": round(own.recall, 4),
            "f1": round(own.f1, 4),
        },
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
    held = sum(b.count for b in report.table)
    output.info(
        f"held out ({held - (own.pages if own else 0)} synthetic pages"
        + (f", {own.pages} collected" if own else "")
        + f"): precision {report.precision:.3f}  recall {report.recall:.3f}  F1 {report.f1:.3f}"
    )
    if own is not None:
        output.info(
            f"collected pages held out ({own.pages} of {report.collected_pages}): precision"
            f" {own.precision:.3f}  recall {own.recall:.3f}  F1 {own.f1:.3f}"
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


_dry = click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")


def _f1(pages: Path, model: Any) -> tuple[float, int]:
    """F1 of the price with ``model`` (None: the shipped one) on the pages of ``pages``."""
    from opslib.cli._patterns import _dir_samples
    from opslib.extraction import extract

    samples = _dir_samples(pages)
    right = predicted = expected = 0
    for s in samples:
        got = extract(s.html, model=model)
        predicted += got.price is not None
        expected += s.price is not None
        right += got.price is not None and got.price == s.price
    precision = right / predicted if predicted else 0.0
    recall = right / expected if expected else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return f1, len(samples)


@models.command("deploy")
@click.argument("model_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--pages",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Labelled pages (as evaluate reads them): refuse a model scoring a lower F1 there"
    " than the active one.",
)
@click.option("--note", default="", help="Why: kept with the version.")
@click.option("--force", is_flag=True, help="Deploy even if it scores lower on --pages.")
@_dry
@pass_app
def deploy_cmd(
    app: AppContext, *, model_file: Path, pages: Path | None, note: str, force: bool, dry_run: bool
) -> None:
    """Deploy MODEL_FILE (from `opslib models train --out`) as the next model version, stored
    in the opslib schema; scrapers read it with ModelStore(db).active(). With --pages, a model
    that scores a lower F1 there than the active one is refused unless --force."""
    from opslib.errors import UnsafeActionError
    from opslib.extraction._model_store import ModelStore, parse_model

    data = model_file.read_bytes()
    model = parse_model(data)
    store = ModelStore(app.database, cache_seconds=0)
    args: dict[str, Any] = {"file": str(model_file), "bytes": len(data), "force": force}
    with app.audit.action("models.deploy", args, dry_run=dry_run) as out:
        if pages is not None:
            new_f1, n = _f1(pages, model)
            old_f1, _ = _f1(pages, store.active())
            args.update(new_f1=round(new_f1, 4), active_f1=round(old_f1, 4))
            app.output.info(f"F1 on {n} pages: new {new_f1:.3f}, active {old_f1:.3f}")
            if new_f1 < old_f1 and not force:
                raise UnsafeActionError(
                    f"not deploying {model_file.name}: F1 {new_f1:.3f} < the active model's"
                    f" {old_f1:.3f} on {pages} (--force deploys it anyway)"
                )
        if dry_run:
            out.detail = "would deploy"
            app.output.data({"dry_run": True, **args}, f"would deploy {model_file.name}")
            return
        version = store.deploy(data, note=note, actor=app.settings.actor or None)
        out.detail = f"model version {version.version} active"
    app.output.data(
        {"dry_run": False, **version.summary()},
        f"deployed model v{version.version} ({version.bytes} bytes);"
        " `opslib models rollback` restores the previous one",
    )


@models.command("rollback")
@click.option("--to", "to", type=click.IntRange(1), help="Make this version active.")
@_dry
@pass_app
def rollback_cmd(app: AppContext, *, to: int | None, dry_run: bool) -> None:
    """Make the previous model version active again (or --to N); rolling back the first
    returns to the model shipped in the package."""
    from opslib.extraction._model_store import ModelStore

    store = ModelStore(app.database, cache_seconds=0)
    with app.audit.action("models.rollback", {"to": to}, dry_run=dry_run) as out:
        was, now = store.plan_rollback(to) if dry_run else store.rollback(to)
        shown = f"v{now}" if now is not None else "the shipped model"
        out.detail = f"v{was} -> {shown}"
    verb = "would roll back" if dry_run else "rolled back"
    app.output.data(
        {"dry_run": dry_run, "was": was, "active": now}, f"{verb} the model: v{was} -> {shown}"
    )


@models.command("list")
@pass_app
def list_cmd(app: AppContext) -> None:
    """The deployed model versions, newest first (* marks the active one)."""
    from opslib.extraction._model_store import ModelStore

    versions = ModelStore(app.database).versions()
    if not versions and not app.output.as_json:
        app.output.info("no model deployed: the one shipped in the package is in use")
        return
    app.output.table(
        ("version", "active", "bytes", "sha256", "actor", "created", "note"),
        [
            (
                v.version,
                "*" if v.active else "",
                v.bytes,
                v.sha256[:12],
                v.actor,
                v.created_at.strftime("%Y-%m-%d %H:%M"),
                v.note,
            )
            for v in versions
        ],
        [v.summary() for v in versions],
    )


@models.command("collect")
@click.argument("domains", nargs=-1, required=True)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--hours", type=click.FloatRange(0.01, 24 * 90), default=24.0, show_default=True)
@click.option("--min-confidence", type=click.FloatRange(0, 1), default=0.9, show_default=True)
@click.option("--limit", type=click.IntRange(1, 5000), default=50, show_default=True)
@via_proxies_option
@pass_app
def collect_cmd(
    app: AppContext,
    *,
    domains: tuple[str, ...],
    out_dir: Path,
    hours: float,
    min_confidence: float,
    limit: int,
    via_proxies: int,
) -> None:
    """Training pages for the model: the pages of each domain's recent high-confidence price
    history, fetched now, written to OUT with expected.json (as evaluate reads it) and
    elements.json (the XPath, attribute or script regex of the element holding the price)."""
    import json

    from opslib.extraction._generate import price_holder, settle_price
    from opslib.extraction._verify import history_samples

    proxies = pool_proxies(app, via_proxies)

    out_dir.mkdir(parents=True, exist_ok=True)
    expected: dict[str, Any] = {}
    elements: dict[str, Any] = {}
    for domain in domains:
        fetched, problems = history_samples(
            app.database, app.settings, domain, hours=hours, min_confidence=min_confidence,
            limit=limit, timeout=app.settings.sites.timeout or 10.0, proxies=proxies,
        )  # fmt: skip
        kept = 0
        for n, sample in enumerate(fetched, 1):
            settled = settle_price(sample, 0.01)
            holder = price_holder(settled) if settled else None
            if settled is None or holder is None:
                continue
            name = f"{domain}-{n:04d}.html"
            html = settled.html if isinstance(settled.html, bytes) else settled.html.encode()
            (out_dir / name).write_bytes(html)
            expected[name] = {"price": str(settled.price), "currency": None, "url": sample.name}
            elements[name] = holder
            kept += 1
        app.output.info(
            f"{domain}: {kept} of {len(fetched)} pages kept"
            + (f" ({len(problems)} not fetched)" if problems else "")
        )
    (out_dir / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True))
    (out_dir / "elements.json").write_text(json.dumps(elements, indent=1, sort_keys=True))
    app.output.data(
        {"directory": str(out_dir), "pages": len(expected)},
        f"{len(expected)} training pages in {out_dir}",
    )
