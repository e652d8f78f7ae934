"""emergency.overload, slow statements: the worst statements, their plans, index advice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opslib.adapters import Database
from opslib.config import Settings
from opslib.dbactivity._indexes import IndexAdvice, advise_indexes
from opslib.dbactivity._judge import SOP, _query
from opslib.dbactivity._statements import (
    Explained,
    Statements,
    explain_statement,
    read_statements,
)
from opslib.errors import DependencyError
from opslib.results import CheckResult, Measurement, Table

__all__ = ["SlowQueryReport", "slow_query_report", "slow_statements"]

_TITLE = "no slow statements, no missing index on the platform's filters"
_JUDGED = 5  # the statements with the highest mean time are judged against db.statement_mean_ms
_MIN_CALLS = 5  # ... among the queries run this often (a one-off bulk load is not overload)


@dataclass(frozen=True)
class SlowQueryReport:
    """What ``opslib db slow-queries`` shows; ``result`` is its verdict."""

    statements: Statements | None
    explained: tuple[Explained, ...]
    advice: tuple[IndexAdvice, ...]
    result: CheckResult

    def as_dict(self) -> dict[str, Any]:
        s = self.statements
        return {
            "severity": self.result.severity.name,
            "message": self.result.message(),
            "by_total": [x.as_dict() for x in s.by_total] if s else [],
            "by_mean": [x.as_dict() for x in s.by_mean] if s else [],
            "judged": [x.as_dict() for x in s.repeated] if s else [],
            "plans": [e.as_dict() for e in self.explained],
            "advice": [a.as_dict() for a in self.advice],
        }


def slow_query_report(
    db: Database,
    settings: Settings,
    *,
    limit: int = 10,
    explain: int = 3,
    min_rows: int = 10_000,
) -> SlowQueryReport:
    """Top ``limit`` statements by total and by mean time (``pg_stat_statements``), the plans
    of the ``explain`` worst, and index advice. Judged: ``db.statement_mean_ms`` for the five
    queries with the highest mean among those run at least 5 times (a one-off bulk load or
    index build is not what overloads a server), and ``db.missing_indexes``.

    Without ``pg_stat_statements`` the result is UNKNOWN with the one line that says how to
    enable it; the index advice is still given.
    """
    advice = advise_indexes(db, settings.tables, min_rows=min_rows)
    try:
        statements = read_statements(db, limit=limit, min_calls=_MIN_CALLS)
    except DependencyError as exc:
        return SlowQueryReport(None, (), advice, CheckResult.unknown(SOP, _TITLE, exc.reason))
    worst = {s.queryid: s for s in statements.repeated + statements.by_mean}  # judged first
    explained = tuple(
        explain_statement(db, s, statements.server_version) for s in list(worst.values())[:explain]
    )
    mean_limit = settings.threshold("db.statement_mean_ms")
    measurements = [
        Measurement(
            "statement_mean_ms",
            round(s.mean_ms, 2),
            mean_limit,
            f"queryid {s.queryid}",
            note=f"{s.calls} calls: {_query(s.query, 60)}",
        )
        for s in statements.repeated[:_JUDGED]
    ]
    if not measurements:
        measurements.append(
            Measurement(
                "statement_mean_ms", 0, mean_limit, note=f"no query run {_MIN_CALLS} times yet"
            )
        )
    missing = [a for a in advice if a.applicable]
    measurements.append(
        Measurement(
            "missing_indexes",
            len(missing),
            settings.threshold("db.missing_indexes"),
            note="; ".join(f"{a.table} ({', '.join(a.columns)})" for a in missing),
        )
    )
    fixes = []
    if missing:
        fixes.append(f"`opslib db slow-queries --apply` creates {len(missing)} missing index(es)")
    fixes.append(
        "read the plans in `opslib db slow-queries` and optimise the worst statements; cancel a"
        " runaway one with `opslib db cancel PID` (`opslib db activity` shows the PID)"
    )
    tables = (
        Table(
            columns=("queryid", "calls", "total ms", "mean ms", "rows", "statement"),
            rows=tuple(
                (
                    str(s.queryid),
                    str(s.calls),
                    f"{s.total_ms:.1f}",
                    f"{s.mean_ms:.2f}",
                    str(s.rows),
                    _query(s.query),
                )
                for s in statements.by_total
            ),
            title="statements by total time",
        ),
        Table(
            columns=("kind", "table", "detail", "statement"),
            rows=tuple((a.kind, a.table, a.detail, a.statement) for a in advice),
            title="index advice",
        ),
    )
    result = CheckResult(
        sop=SOP,
        title=_TITLE,
        measurements=tuple(measurements),
        remediation="; ".join(fixes),
        tables=tables,
    )
    return SlowQueryReport(statements, explained, advice, result)


def slow_statements(db: Database, settings: Settings) -> CheckResult:
    """The check: :func:`slow_query_report`'s verdict, without plans."""
    return slow_query_report(db, settings, explain=0).result
