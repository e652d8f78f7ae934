"""``opslib patterns``: the domains' extraction patterns: list, show, deploy, rollback, verify
against the reference pages, generate and test from pages with known prices; the reference
pages themselves (``opslib patterns reference ...``)."""

from __future__ import annotations

import gzip
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

import click

from opslib.cli._context import AppContext, pass_app
from opslib.errors import InputError, UnsafeActionError
from opslib.extraction._generate import PatternTest, Sample, generate, settle_price, try_pattern
from opslib.extraction._store import PatternStore, normalise_domain
from opslib.extraction._types import Pattern

__all__ = ["patterns"]

_dry = click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
_json = click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
_SETTLE = 0.01  # a price from history may have moved by up to 1 % since it was recorded


def _store(app: AppContext) -> PatternStore:
    return PatternStore(app.database, cache_seconds=0)


def _price(text: str | None) -> Decimal | None:
    if text is None or text.strip().lower() in ("", "none", "null"):
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation as exc:
        raise InputError(f"not a price: {text!r} (write it as 1299.00; none: no price)") from exc
    if value < 0 or not value.is_finite():
        raise InputError(f"not a price: {text!r}")
    return value


def _read_page(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if path.name.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise InputError(f"{path}: not gzip: {exc}") from exc
    return data


def _dir_samples(directory: Path) -> list[Sample]:
    """The pages of ``directory`` and their prices (expected.json, as ``models evaluate``)."""
    from opslib.extraction._evaluate import _labels

    labels = _labels(directory)
    out = []
    for name, (price, currency) in sorted(labels.items()):
        path = directory / name
        if path.is_file():
            out.append(Sample(name, _read_page(path), price, currency))
    if not out:
        raise InputError(f"{directory}: no page of expected.json found beside it")
    return out


def _samples(
    app: AppContext,
    domain: str,
    *,
    pages: Path | None,
    references: bool,
    hours: float,
    min_confidence: float,
    limit: int,
    via_proxies: int = 0,
) -> tuple[list[Sample], str]:
    if pages is not None:
        return _dir_samples(pages), f"{pages} (expected.json)"
    if references:
        refs = _store(app).references(domain)
        if not refs:
            raise InputError(f"{domain} has no reference pages")
        return [Sample(r.name, r.html, r.price, r.currency) for r in refs], "reference pages"
    from opslib.extraction._verify import history_samples

    proxies = pool_proxies(app, via_proxies)
    fetched, problems = history_samples(
        app.database,
        app.settings,
        domain,
        hours=hours,
        min_confidence=min_confidence,
        limit=limit,
        timeout=app.settings.sites.timeout or 10.0,
        proxies=proxies,
    )
    settled = [s for s in (settle_price(x, _SETTLE) for x in fetched) if s is not None]
    for problem in problems[:5]:
        app.output.info(f"  not fetched: {problem}")
    if len(settled) < len(fetched):
        app.output.info(
            f"  {len(fetched) - len(settled)} page(s) show no price within {_SETTLE:.0%} of"
            " the recorded one: left out"
        )
    if not settled:
        raise InputError(
            f"no sample pages for {domain}: no URL with a price of confidence"
            f" >= {min_confidence} in the last {hours:g} h could be fetched and matched"
            " (give pages: --pages DIR with expected.json)"
        )
    return (
        settled,
        f"recent history ({len(settled)} pages fetched now"
        + (f" through {len(proxies)} pool proxies" if proxies else "")
        + f", confidence >= {min_confidence})",
    )


def pool_proxies(app: AppContext, count: int) -> list[Any]:
    """``count`` active proxies of the pool at random (none: fetch directly, said so)."""
    if count <= 0:
        return []
    from opslib.proxies import ProxyPool
    from opslib.sites import sample_proxies

    proxies = sample_proxies(ProxyPool(app.database, app.settings.proxies), count)
    if not proxies:
        app.output.info("no active proxy in the pool: the pages are fetched directly")
    return proxies


via_proxies_option = click.option(
    "--via-proxies",
    type=click.IntRange(0, 100),
    default=0,
    show_default=True,
    help="Fetch the history pages through N active pool proxies in turn, as the scrapers"
    " see them (0: directly).",
)


def _sample_options(f: Any) -> Any:
    f = via_proxies_option(f)
    f = click.option("--limit", type=click.IntRange(1, 500), default=30, show_default=True,
                     help="At most this many URLs from history.")(f)  # fmt: skip
    f = click.option("--min-confidence", type=click.FloatRange(0, 1), default=0.9,
                     show_default=True, help="History rows at least this sure.")(f)  # fmt: skip
    f = click.option("--hours", type=click.FloatRange(0.01, 24 * 90), default=24.0,
                     show_default=True, help="History rows of the last HOURS.")(f)  # fmt: skip
    f = click.option("--references", is_flag=True,
                     help="Use the domain's stored reference pages as samples.")(f)  # fmt: skip
    return click.option(
        "--pages",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="Pages with known prices: DIR with *.html[.gz] and expected.json"
        " (default: fetch the pages of recent high-confidence price history).",
    )(f)


def _pattern_options(f: Any) -> Any:
    f = click.option("--regex", help="Narrow the text read to this regex's first group.")(f)
    f = click.option("--decimal-separator", type=click.Choice([",", "."]))(f)
    f = click.option("--currency", help="ISO code when the text shows none.")(f)
    f = click.option("--attribute", help="Read this attribute of the match, not its text.")(f)
    f = click.option("--xpath", is_flag=True, help="SELECTOR is an XPath, not CSS.")(f)
    return click.option("--selector", help="CSS selector (XPath with --xpath) of the price.")(f)


def _given_pattern(
    *,
    selector: str | None,
    xpath: bool,
    attribute: str | None,
    currency: str | None,
    decimal_separator: str | None,
    regex: str | None,
) -> Pattern | None:
    if selector is None:
        return None
    kind: Literal["css", "xpath"] = "xpath" if xpath else "css"
    return Pattern(
        selector=selector,
        kind=kind,
        attribute=attribute,
        currency=currency.upper() if currency else None,
        decimal_separator=decimal_separator,
        regex=regex,
    )


def _describe(p: Pattern) -> str:
    parts = [f"{p.kind} {p.selector!r}"]
    if p.attribute:
        parts.append(f"attribute {p.attribute}")
    if p.regex:
        parts.append(f"regex {p.regex!r}")
    if p.currency:
        parts.append(f"currency {p.currency}")
    if p.decimal_separator:
        parts.append(f"decimal separator {p.decimal_separator!r}")
    return ", ".join(parts)


def _test_rows(test: PatternTest, only_failures: bool = True) -> list[tuple[str, str, str, str]]:
    pages = test.failures if only_failures else test.pages
    return [
        (
            p.name,
            "none" if p.expected is None else str(p.expected),
            "none" if p.got is None else str(p.got),
            p.reason or "",
        )
        for p in pages
    ]


def _test_payload(test: PatternTest) -> dict[str, Any]:
    return {
        "pages": len(test.pages),
        "right": test.right,
        "accuracy": test.accuracy,
        "failures": [
            {"page": n, "expected": e, "got": g, "reason": r} for n, e, g, r in _test_rows(test)
        ],
    }


@click.group()
def patterns() -> None:
    """Per-domain extraction patterns: versions, deploy and rollback, verify, generate."""


@patterns.command("list")
@pass_app
def list_cmd(app: AppContext) -> None:
    """Every domain with a pattern or reference pages: the active version and its selector."""
    store = _store(app)
    versions = store.versions()
    counts = store.reference_counts()
    domains = sorted({v.domain for v in versions} | set(counts))
    rows = []
    payload = []
    for d in domains:
        mine = [v for v in versions if v.domain == d]
        active = next((v for v in mine if v.active), None)
        rows.append(
            (
                d,
                f"v{active.version}" if active else "none",
                len(mine),
                active.pattern.selector if active else "",
                counts.get(d, 0),
                active.created_at.strftime("%Y-%m-%d %H:%M") if active else "",
            )
        )
        payload.append(
            {
                "domain": d,
                "active": active.summary() if active else None,
                "versions": len(mine),
                "reference_pages": counts.get(d, 0),
            }
        )
    if not rows and not app.output.as_json:
        app.output.info("no patterns and no reference pages yet")
        return
    app.output.table(
        ("domain", "active", "versions", "selector", "reference pages", "deployed"),
        rows,
        payload,
    )


@patterns.command("show")
@click.argument("domain")
@pass_app
def show_cmd(app: AppContext, domain: str) -> None:
    """Every version of DOMAIN's pattern, newest first (* marks the active one)."""
    versions = _store(app).versions(domain)
    if not versions and not app.output.as_json:
        app.output.info(f"{normalise_domain(domain)} has no pattern")
        return
    app.output.table(
        ("version", "active", "pattern", "confidence", "tested", "actor", "created", "note"),
        [
            (
                v.version,
                "*" if v.active else "",
                _describe(v.pattern),
                f"{v.pattern.confidence:.3f}",
                "" if v.tested_accuracy is None else f"{v.tested_accuracy:.3f} on {v.tested_pages}",
                v.actor,
                v.created_at.strftime("%Y-%m-%d %H:%M"),
                v.note,
            )
            for v in versions
        ],
        [v.summary() for v in versions],
    )


def _deploy(
    app: AppContext,
    domain: str,
    pattern: Pattern,
    test: PatternTest,
    *,
    force: bool,
    dry_run: bool,
    note: str,
    action: str = "patterns.deploy",
) -> None:
    """Deploy ``pattern`` as DOMAIN's next version: refused when it fails its test (a page
    wrong, or no page to test on) unless ``force``; audited."""
    store = _store(app)
    args = {
        "domain": domain,
        "selector": pattern.selector,
        "kind": pattern.kind,
        "attribute": pattern.attribute,
        "regex": pattern.regex,
        "force": force,
        "tested_pages": len(test.pages),
        "tested_accuracy": test.accuracy,
    }
    with app.audit.action(action, args, dry_run=dry_run) as out:
        if not test.passed and not force:
            why = (
                "there is no page to test it on"
                if not test.pages
                else f"it reads {len(test.failures)} of {len(test.pages)} test pages wrong"
            )
            raise UnsafeActionError(
                f"not deploying the pattern for {domain}: {why} (--force deploys it anyway)"
            )
        current = store.current(domain)
        following = store.versions(domain)[0].version + 1 if store.versions(domain) else 1
        if dry_run:
            out.detail = f"would deploy version {following}"
            app.output.data(
                {"dry_run": True, "domain": domain, "version": following},
                f"would deploy {domain} pattern v{following}: {_describe(pattern)}"
                + (f" (replacing v{current.version})" if current else ""),
            )
            return
        version = store.deploy(
            domain,
            pattern,
            tested_accuracy=test.accuracy,
            tested_pages=len(test.pages),
            note=note,
            actor=app.settings.actor or None,
        )
        out.detail = f"version {version.version} active"
    app.output.data(
        {"dry_run": False, **version.summary()},
        f"deployed {domain} pattern v{version.version}: {_describe(pattern)}"
        + (
            f" (was v{current.version}; `opslib patterns rollback {domain}` restores it)"
            if current
            else f" (`opslib patterns rollback {domain}` removes it)"
        ),
    )


@patterns.command("deploy")
@click.argument("domain")
@_pattern_options
@click.option("--confidence", type=click.FloatRange(0, 1), help="Default: the tested accuracy.")
@click.option("--note", default="", help="Why: kept with the version.")
@click.option("--force", is_flag=True, help="Deploy even if the pattern fails its test.")
@_dry
@pass_app
def deploy_cmd(
    app: AppContext,
    *,
    domain: str,
    selector: str | None,
    xpath: bool,
    attribute: str | None,
    currency: str | None,
    decimal_separator: str | None,
    regex: str | None,
    confidence: float | None,
    note: str,
    force: bool,
    dry_run: bool,
) -> None:
    """Deploy a pattern given by hand as DOMAIN's next version.

    It is tested on DOMAIN's reference pages first: deploying a pattern that reads any of them
    wrong (or with no reference page to test on) is refused unless --force. Generated patterns
    are deployed with `opslib patterns generate DOMAIN --deploy`.
    """
    domain = normalise_domain(domain)
    pattern = _given_pattern(
        selector=selector, xpath=xpath, attribute=attribute, currency=currency,
        decimal_separator=decimal_separator, regex=regex,
    )  # fmt: skip
    if pattern is None:
        raise InputError("--selector is required (or: opslib patterns generate DOMAIN --deploy)")
    refs = _store(app).references(domain)
    test = try_pattern(pattern, [Sample(r.name, r.html, r.price, r.currency) for r in refs])
    if confidence is None:
        n = len(test.pages)
        confidence = round(min(0.99, (test.right + 1) / (n + 2)), 3) if n else 0.9
    pattern = Pattern(**{**pattern.__dict__, "confidence": confidence})
    if test.failures:
        app.output.table(("wrong page", "expected", "got", "reason"), _test_rows(test))
    _deploy(app, domain, pattern, test, force=force, dry_run=dry_run, note=note)


@patterns.command("rollback")
@click.argument("domain")
@click.option("--to", "to", type=click.IntRange(1), help="Make this version active.")
@_dry
@pass_app
def rollback_cmd(app: AppContext, *, domain: str, to: int | None, dry_run: bool) -> None:
    """Make DOMAIN's previous pattern version active again (or version --to N). Rolling back
    the first version leaves the domain without a pattern: the engine alone reads its pages."""
    domain = normalise_domain(domain)
    store = _store(app)
    with app.audit.action(
        "patterns.rollback", {"domain": domain, "to": to}, dry_run=dry_run
    ) as out:
        if dry_run:
            was, now = store.plan_rollback(domain, to)
        else:
            was, now = store.rollback(domain, to)
        shown = f"v{now}" if now is not None else "no pattern (the engine alone)"
        out.detail = f"v{was} -> {shown}"
    verb = "would roll back" if dry_run else "rolled back"
    app.output.data(
        {"dry_run": dry_run, "domain": domain, "was": was, "active": now},
        f"{verb} {domain}: v{was} -> {shown}" if was else f"{verb} {domain}: -> {shown}",
    )


@patterns.command("verify")
@click.argument("domains", nargs=-1)
@_json
@pass_app
def verify_cmd(app: AppContext, domains: tuple[str, ...], as_json: bool) -> None:
    """Run each domain's active pattern (else the engine alone) on its reference pages: the
    accuracy per domain, judged by patterns.accuracy, and the pages read wrong.
    Exit 0 ok, 1 warning, 2 critical, 3 nothing to verify."""
    from opslib.extraction._verify import extractor_accuracy, verify

    app.output.as_json = app.output.as_json or as_json
    found = verify(app.database, list(domains) or None)
    result = extractor_accuracy(app.database, app.settings)
    judged = {m.subject: m for m in result.measurements}
    if domains:  # only the domains asked for
        from opslib.results import CheckResult

        kept = tuple(m for m in result.measurements if m.subject in {v.domain for v in found})
        result = CheckResult(
            result.sop, result.title, kept, result.remediation, tables=result.tables
        )
    if app.output.as_json:
        app.output.data(
            {
                "severity": result.severity.name,
                "domains": [
                    {
                        "domain": v.domain,
                        "version": v.version,
                        "selector": v.pattern.selector if v.pattern else None,
                        "severity": judged[v.domain].severity.name
                        if v.domain in judged
                        else "UNKNOWN",
                        **_test_payload(v.test),
                    }
                    for v in found
                ],
            }
        )
    else:
        if not found:
            app.output.info("no domain has a pattern or reference pages")
        else:
            app.output.table(
                ("domain", "extractor", "pages", "right", "accuracy", "verdict"),
                [
                    (
                        v.domain,
                        v.extractor,
                        len(v.test.pages),
                        v.test.right,
                        "n/a" if v.test.accuracy is None else f"{v.test.accuracy:.3f}",
                        judged[v.domain].severity.name if v.domain in judged else "no pages",
                    )
                    for v in found
                ],
            )
            wrong = [(v.domain, *row) for v in found for row in _test_rows(v.test)]
            if wrong:
                app.output.info("")
                app.output.table(("domain", "wrong page", "expected", "got", "reason"), wrong)
        app.output.info("")
        app.output.info(result.message())
    click.get_current_context().exit(int(result.severity))


@patterns.command("generate")
@click.argument("domain")
@_sample_options
@click.option("--holdout", type=click.FloatRange(0, 0.9), default=0.3, show_default=True,
              help="Share of the sample pages held out to test the pattern on.")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True, help="Which pages are held out.")
@click.option("--deploy", "do_deploy", is_flag=True, help="Deploy it as DOMAIN's next version.")
@click.option("--force", is_flag=True, help="With --deploy: even if it fails its test.")
@click.option("--note", default="", help="With --deploy: kept with the version.")
@_dry
@_json
@pass_app
def generate_cmd(
    app: AppContext,
    *,
    domain: str,
    pages: Path | None,
    references: bool,
    hours: float,
    min_confidence: float,
    limit: int,
    via_proxies: int,
    holdout: float,
    seed: int,
    do_deploy: bool,
    force: bool,
    note: str,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Propose a selector for DOMAIN's price from sample pages with known prices: the most
    general one that reads the price on every training page (and nothing on pages without
    one), tested on the held-out pages; --deploy makes it DOMAIN's next version.

    Samples: --pages DIR (pages and expected.json), --references (the stored reference pages),
    else the pages of DOMAIN's recent high-confidence price history, fetched now.
    A pattern that fails its held-out test (or the reference pages) is not deployed unless
    --force. Exit 0: found and passed; 2: none found or failed.
    """
    domain = normalise_domain(domain)
    app.output.as_json = app.output.as_json or as_json
    samples, source = _samples(
        app, domain, pages=pages, references=references, hours=hours,
        min_confidence=min_confidence, limit=limit, via_proxies=via_proxies,
    )  # fmt: skip
    proposal = generate(samples, holdout=holdout, seed=seed, domain=domain)
    refs = [] if references else _store(app).references(domain)
    ref_test = try_pattern(
        proposal.pattern, [Sample(r.name, r.html, r.price, r.currency) for r in refs], domain
    ) if proposal.pattern else PatternTest(())  # fmt: skip
    payload = {
        "domain": domain,
        "source": source,
        "samples": len(samples),
        "pattern": None
        if proposal.pattern is None
        else {**proposal.pattern.__dict__, "confidence": proposal.pattern.confidence},
        "reason": proposal.reason or None,
        "candidates_tried": proposal.tried,
        "training": _test_payload(proposal.training),
        "held_out": _test_payload(proposal.held_out),
        "reference_pages": _test_payload(ref_test),
        "passed": proposal.passed and not ref_test.failures,
    }
    out = app.output
    if out.as_json and not do_deploy:
        out.data(payload)
    elif not out.as_json:
        out.info(f"{domain}: {len(samples)} sample pages from {source}")
        if proposal.pattern is None:
            out.info(f"no pattern: {proposal.reason}")
        else:
            out.info(f"proposed: {_describe(proposal.pattern)}")
            for label, test in (
                ("training", proposal.training),
                ("held out", proposal.held_out),
                ("reference pages", ref_test),
            ):
                if test.pages:
                    out.info(
                        f"  {label}: {test.right}/{len(test.pages)} right"
                        f" ({test.accuracy or 0:.1%})"
                    )
            wrong = _test_rows(proposal.held_out) + _test_rows(ref_test)
            if wrong:
                out.table(("wrong page", "expected", "got", "reason"), wrong)
    if proposal.pattern is None:
        click.get_current_context().exit(2)
    if do_deploy:
        test = PatternTest(proposal.held_out.pages + ref_test.pages)
        if not proposal.held_out.pages and not ref_test.pages:
            test = proposal.training  # too few samples to hold any out
        _deploy(
            app, domain, proposal.pattern, test, force=force, dry_run=dry_run,
            note=note or f"generated from {len(samples)} pages ({source})",
        )  # fmt: skip
        return
    if out.as_json is False:
        out.info(f"deploy it: opslib patterns generate {domain} --deploy (same samples)")
    click.get_current_context().exit(0 if payload["passed"] else 2)


@patterns.command("test")
@click.argument("domain")
@_pattern_options
@_sample_options
@_json
@pass_app
def test_cmd(
    app: AppContext,
    *,
    domain: str,
    selector: str | None,
    xpath: bool,
    attribute: str | None,
    currency: str | None,
    decimal_separator: str | None,
    regex: str | None,
    pages: Path | None,
    references: bool,
    hours: float,
    min_confidence: float,
    limit: int,
    via_proxies: int,
    as_json: bool,
) -> None:
    """Test a pattern (--selector ..., default DOMAIN's active one) on pages with known
    prices (--pages DIR, --references, default recent history fetched now): the pages right
    and the ones read wrong. Exit 0 all right, 2 any wrong."""
    domain = normalise_domain(domain)
    app.output.as_json = app.output.as_json or as_json
    pattern = _given_pattern(
        selector=selector, xpath=xpath, attribute=attribute, currency=currency,
        decimal_separator=decimal_separator, regex=regex,
    )  # fmt: skip
    if pattern is None:
        current = _store(app).current(domain)
        if current is None:
            raise InputError(f"{domain} has no active pattern: give one with --selector")
        pattern = current.pattern
    samples, source = _samples(
        app, domain, pages=pages, references=references, hours=hours,
        min_confidence=min_confidence, limit=limit, via_proxies=via_proxies,
    )  # fmt: skip
    test = try_pattern(pattern, samples, domain)
    if app.output.as_json:
        app.output.data({"domain": domain, "pattern": pattern.__dict__, **_test_payload(test)})
    else:
        app.output.info(f"{domain}: {_describe(pattern)} on {len(samples)} pages ({source})")
        app.output.info(f"{test.right}/{len(test.pages)} right ({test.accuracy or 0:.1%})")
        if test.failures:
            app.output.table(("wrong page", "expected", "got", "reason"), _test_rows(test))
    click.get_current_context().exit(0 if test.passed else 2)


@patterns.group("reference")
def reference() -> None:
    """The reference pages `opslib patterns verify` checks each domain's extractor on
    (stored gzip-compressed in the opslib schema, table opslib.reference_pages)."""


@reference.command("add")
@click.argument("domain")
@click.argument("page", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--price", required=True, help="The price a shopper sees (none: no price).")
@click.option("--currency", help="Its ISO currency code.")
@click.option("--name", help="The page's name (default: the file's name).")
@_dry
@pass_app
def reference_add(
    app: AppContext,
    *,
    domain: str,
    page: Path,
    price: str,
    currency: str | None,
    name: str | None,
    dry_run: bool,
) -> None:
    """Store PAGE (a file, .gz too) as a reference page of DOMAIN with its known price."""
    domain = normalise_domain(domain)
    value = _price(price)
    data = _read_page(page)
    label = name or page.name
    args = {"domain": domain, "name": label, "price": value, "bytes": len(data)}
    with app.audit.action("patterns.reference.add", args, dry_run=dry_run):
        replaced = False
        if not dry_run:
            replaced = _store(app).add_reference(
                domain, label, data, value, currency, actor=app.settings.actor or None
            )
    verb = "would store" if dry_run else ("replaced" if replaced else "stored")
    app.output.data(
        {"dry_run": dry_run, **args, "replaced": replaced},
        f"{verb} reference page {label} of {domain} (price {'none' if value is None else value})",
    )


@reference.command("import")
@click.argument("domain")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_dry
@pass_app
def reference_import(app: AppContext, *, domain: str, directory: Path, dry_run: bool) -> None:
    """Store every page of DIRECTORY (named in its expected.json, as `models evaluate` reads
    it) as a reference page of DOMAIN."""
    domain = normalise_domain(domain)
    samples = _dir_samples(directory)
    args = {"domain": domain, "directory": str(directory), "pages": len(samples)}
    with app.audit.action("patterns.reference.import", args, dry_run=dry_run):
        if not dry_run:
            store = _store(app)
            for s in samples:
                store.add_reference(
                    domain, s.name, s.html, s.price, s.currency,
                    actor=app.settings.actor or None,
                )  # fmt: skip
    verb = "would store" if dry_run else "stored"
    app.output.data(
        {"dry_run": dry_run, **args}, f"{verb} {len(samples)} reference pages of {domain}"
    )


@reference.command("collect")
@click.argument("domain")
@click.option("--hours", type=click.FloatRange(0.01, 24 * 90), default=24.0, show_default=True)
@click.option("--min-confidence", type=click.FloatRange(0, 1), default=0.9, show_default=True)
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True)
@click.option("--replace", "replace_all", is_flag=True, help="Remove DOMAIN's other pages.")
@via_proxies_option
@_dry
@pass_app
def reference_collect(
    app: AppContext,
    *,
    domain: str,
    hours: float,
    min_confidence: float,
    limit: int,
    replace_all: bool,
    via_proxies: int,
    dry_run: bool,
) -> None:
    """Store the pages of DOMAIN's recent high-confidence price history, fetched now, as its
    reference pages (each named by its URL; the price the page shows within 1 % of the one
    recorded). Run it when the pages are known good, e.g. after a pattern is deployed."""
    domain = normalise_domain(domain)
    samples, source = _samples(
        app, domain, pages=None, references=False, hours=hours,
        min_confidence=min_confidence, limit=limit, via_proxies=via_proxies,
    )  # fmt: skip
    args = {
        "domain": domain, "pages": len(samples), "replace": replace_all,
        "via_proxies": via_proxies,
    }  # fmt: skip
    with app.audit.action("patterns.reference.collect", args, dry_run=dry_run):
        if not dry_run:
            store = _store(app)
            if replace_all:
                store.remove_references(domain)
            for s in samples:
                store.add_reference(
                    domain, s.name, s.html, s.price, s.currency, source="history",
                    actor=app.settings.actor or None,
                )  # fmt: skip
    verb = "would store" if dry_run else "stored"
    app.output.data(
        {"dry_run": dry_run, **args},
        f"{verb} {len(samples)} reference pages of {domain} ({source})",
    )


@reference.command("list")
@click.argument("domain", required=False)
@pass_app
def reference_list(app: AppContext, domain: str | None) -> None:
    """The reference pages (of DOMAIN): name, price, source, when added; without DOMAIN, how
    many each domain has."""
    store = _store(app)
    if domain is None:
        counts = store.reference_counts()
        app.output.table(("domain", "reference pages"), sorted(counts.items()))
        return
    refs = store.references(domain)
    app.output.table(
        ("name", "price", "currency", "source", "bytes", "added"),
        [
            (
                r.name,
                "none" if r.price is None else str(r.price),
                r.currency or "",
                r.source,
                len(r.html),
                r.added_at.strftime("%Y-%m-%d %H:%M"),
            )
            for r in refs
        ],
    )


@reference.command("remove")
@click.argument("domain")
@click.argument("names", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Every reference page of DOMAIN.")
@_dry
@pass_app
def reference_remove(
    app: AppContext, *, domain: str, names: tuple[str, ...], everything: bool, dry_run: bool
) -> None:
    """Remove the named reference pages of DOMAIN (--all: every one)."""
    domain = normalise_domain(domain)
    if not names and not everything:
        raise InputError("name the pages to remove, or --all")
    args = {"domain": domain, "names": list(names) or "all"}
    with app.audit.action("patterns.reference.remove", args, dry_run=dry_run) as out:
        if dry_run:
            refs = _store(app).references(domain)
            n = len([r for r in refs if everything or r.name in names])
        else:
            n = _store(app).remove_references(domain, None if everything else list(names))
        out.detail = f"{n} removed"
    verb = "would remove" if dry_run else "removed"
    app.output.data({"dry_run": dry_run, **args, "removed": n}, f"{verb} {n} reference pages")
