"""Quota reservations are atomic: quota + 20 concurrent requests admit exactly the quota, on PostgreSQL
(a row lock) and on the SQLite default (transactions that take the write lock when they begin)."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from billing_helpers import make_organization

from billing.errors import PaymentRequired, QuotaExceeded
from billing.quota import available_credits, check_quota, release, usage


@pytest.fixture
def app_sessions(app_database):
    return app_database.sessions


def test_concurrent_reservations_at_the_edge_admit_exactly_the_quota(app_sessions):
    organization = make_organization(app_sessions, tier="free")  # 10 analyses per period

    def submit(index):
        try:
            with app_sessions.begin() as session:
                check_quota(session, organization, f"submission-{index}")
            return "admitted"
        except QuotaExceeded as exc:
            return exc

    with ThreadPoolExecutor(max_workers=30) as pool:
        outcomes = list(pool.map(submit, range(30)))
    admitted = [o for o in outcomes if o == "admitted"]
    refused = [o for o in outcomes if isinstance(o, QuotaExceeded)]
    assert len(admitted) == 10 and len(refused) == 20
    assert {(e.tier, e.limit) for e in refused} == {("free", 10)}
    assert "resets at" in refused[0].hint and refused[0].resets_at.day == 1
    with app_sessions() as session:
        assert usage(session, organization).analyses_used == 10


def test_the_same_submission_reserves_once_and_a_release_gives_it_back(app_sessions):
    organization = make_organization(app_sessions, tier="free")
    with app_sessions.begin() as session:
        first = check_quota(session, organization, "again")
    with app_sessions.begin() as session:
        assert check_quota(session, organization, "again").id == first.id
        assert usage(session, organization).analyses_used == 1
        release(session, organization, "again")
    with app_sessions() as session:
        assert usage(session, organization).analyses_used == 0
        assert available_credits(session, organization) == 100


def test_past_due_organization_cannot_reserve(app_sessions):
    organization = make_organization(app_sessions, status="past_due")
    with pytest.raises(PaymentRequired, match="past due"):
        with app_sessions.begin() as session:
            check_quota(session, organization, "late")
