"""plan_policy / apply_policy against a real PostgreSQL."""

from __future__ import annotations

import pytest

from opslib.adapters import Database
from opslib.errors import DataError
from opslib.proxies import ANY_COUNTRY, DomainPolicy, ProxyPool, apply_policy, plan_policy

SHOP = "alpha.test"


def test_nothing_asked_changes_nothing(platform_db: Database) -> None:
    pool = ProxyPool(platform_db)
    plan = plan_policy(pool, SHOP)
    assert (plan.changes, plan.new) == ((), DomainPolicy(SHOP))
    assert apply_policy(pool, plan) is False
    assert platform_db.fetch_one("SELECT count(*) AS n FROM opslib.proxy_policies") == {"n": 0}


def test_plan_then_apply(platform_db: Database) -> None:
    pool = ProxyPool(platform_db)
    plan = plan_policy(pool, SHOP, country="DE", sticky=True, ban_statuses=[403, 503])
    assert plan.changed == ("ban_statuses", "country", "sticky")
    assert plan.changes[0] == ("country", "de")
    assert (plan.new.country, plan.new.sticky, plan.new.ban_statuses) == ("de", True, (403, 503))
    assert pool.policy(SHOP) == DomainPolicy(SHOP)  # planning stores nothing
    assert apply_policy(pool, plan) is True
    assert pool.policy(SHOP) == plan.new
    cleared = plan_policy(pool, SHOP, country=ANY_COUNTRY, ban_minutes=5)
    assert (cleared.old, cleared.new.country, cleared.new.sticky) == (plan.new, None, True)
    apply_policy(pool, cleared)
    assert (pool.policy(SHOP).country, pool.policy(SHOP).ban_minutes) == (None, 5)


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"country": "Germany"}, "invalid country code 'Germany'"),
        ({"country": "d1"}, "invalid country code"),
        ({"max_concurrency": 0}, "max_concurrency must be at least 1"),
        ({"ban_minutes": -1}, "ban_minutes must be at least 1"),
        ({"ban_statuses": [403, 42]}, "HTTP statuses 100-599"),
    ],
)
def test_bad_values_are_refused(
    platform_db: Database, options: dict[str, object], problem: str
) -> None:
    with pytest.raises(DataError, match=problem):
        plan_policy(ProxyPool(platform_db), SHOP, **options)  # type: ignore[arg-type]
