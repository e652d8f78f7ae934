"""Retention: the guarantees hold under every order of ages and verification states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from opslib.backups import Candidate, RetentionPlan, RetentionPolicy, plan_retention

NOW = datetime(2024, 3, 15, 12, 0, tzinfo=UTC)

candidates = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=24 * 400),  # age in hours
        st.sampled_from(["regular", "emergency"]),
        st.sampled_from(["unverified", "ok", "failed"]),
    ),
    max_size=40,
).map(
    lambda items: [
        Candidate(f"b{i:03d}", NOW - timedelta(hours=age), kind, verification)  # type: ignore[arg-type]
        for i, (age, kind, verification) in enumerate(items)
    ]
)
policies = st.builds(
    RetentionPolicy,
    daily=st.integers(0, 10),
    weekly=st.integers(0, 6),
    monthly=st.integers(0, 8),
    min_count=st.integers(1, 12),
    emergency_exempt=st.integers(0, 24 * 10).map(lambda h: timedelta(hours=h)),
)


def _newest(backups: list[Candidate]) -> Candidate:
    return max(backups, key=lambda b: (b.created_at, b.name))


@settings(max_examples=400, deadline=None)
@given(backups=candidates, policy=policies)
def test_guarantees(backups: list[Candidate], policy: RetentionPolicy) -> None:
    plan = plan_retention(backups, policy, NOW)
    names = {b.name for b in backups}
    assert sorted(plan.keep + plan.delete) == sorted(names)
    assert all(d.reasons for d in plan.decisions)
    assert len(plan.keep) >= min(policy.min_count, len(backups))
    if not backups:
        return
    newest = _newest(backups)
    assert newest.name in plan.keep
    if newest.verification == "failed":
        assert plan.delete == ()
        assert plan.refused
    verified = [b for b in backups if b.verification == "ok"]
    if verified:
        assert _newest(verified).name in plan.keep
    for b in backups:
        if b.kind == "emergency" and NOW - b.created_at < policy.emergency_exempt:
            assert b.name in plan.keep


@settings(max_examples=200, deadline=None)
@given(backups=candidates, policy=policies)
def test_daily_slots_are_filled(backups: list[Candidate], policy: RetentionPolicy) -> None:
    plan = plan_retention(backups, policy, NOW)
    usable = [b for b in backups if b.verification != "failed"]
    days = sorted({b.created_at.date() for b in usable}, reverse=True)[: policy.daily]
    kept = {b.created_at.date() for b in usable if b.name in plan.keep}
    assert set(days) <= kept


@settings(max_examples=200, deadline=None)
@given(backups=candidates, policy=policies)
def test_pruning_again_deletes_nothing_more(
    backups: list[Candidate], policy: RetentionPolicy
) -> None:
    plan = plan_retention(backups, policy, NOW)
    survivors = [b for b in backups if b.name in plan.keep]
    again: RetentionPlan = plan_retention(survivors, policy, NOW)
    assert again.delete == ()


def test_example_thirty_daily_backups() -> None:
    backups = [Candidate(f"d{i:02d}", NOW - timedelta(days=i)) for i in range(30)]
    plan = plan_retention(backups, RetentionPolicy(daily=7, weekly=4, monthly=2, min_count=3), NOW)
    assert len(plan.keep) >= 7
    assert "d00" in plan.keep
    assert all("not the newest" in d.reasons[0] for d in plan.decisions if not d.keep)
