"""Organizations: one name means one organization; the list and the first one are what the operator sees."""

import threading
import uuid

import pytest
from sqlalchemy import func, select

from appdb.models import Organization, Subscription
from submissions.organizations import (
    OrganizationNameTaken,
    create_organization,
    first_organization,
    list_organizations,
)


def test_a_taken_name_is_refused_and_nothing_is_written(app_sessions):
    name = f"acme-{uuid.uuid4().hex[:6]}"
    with app_sessions.begin() as session:
        first = create_organization(session, name, "team")
    with pytest.raises(OrganizationNameTaken) as refused, app_sessions.begin() as session:
        create_organization(session, name, "free")
    assert refused.value.message == f"An organization named {name!r} exists already ({first})."
    assert "vexxy organization list" in refused.value.hint
    with app_sessions() as session:
        assert session.scalar(select(func.count()).select_from(Organization).where(Organization.name == name)) == 1
        assert session.scalar(select(func.count()).select_from(Subscription).where(Subscription.organization_id == first)) == 1


def test_two_creations_of_one_name_at_once_make_one_organization(postgres_sessions):
    """Both pass the look-up before either commits: the unique index decides, and the loser says so (PostgreSQL: on
    SQLite every transaction takes the write lock as it begins, so the second look-up already sees the first)."""
    app_sessions = postgres_sessions
    name = f"race-{uuid.uuid4().hex[:6]}"
    looked_up, outcomes = threading.Barrier(2), []

    def create():
        try:
            with app_sessions.begin() as session:
                assert session.scalar(select(Organization.id).where(Organization.name == name)) is None
                looked_up.wait(timeout=10)
                outcomes.append(create_organization(session, name, "free"))
        except OrganizationNameTaken as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=create) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["OrganizationNameTaken", "str"]
    (taken,) = [outcome for outcome in outcomes if isinstance(outcome, OrganizationNameTaken)]
    assert taken.message == f"An organization named {name!r} exists already (created just now)."
    with app_sessions() as session:
        assert session.scalar(select(func.count()).select_from(Organization).where(Organization.name == name)) == 1


def test_the_list_is_oldest_first_with_each_tier_and_the_first_is_the_oldest(app_sessions):
    names = [f"list-{i}-{uuid.uuid4().hex[:6]}" for i in range(3)]
    created = {}
    for name, tier in zip(names, ("team", "free", "enterprise"), strict=True):
        with app_sessions.begin() as session:
            created[name] = create_organization(session, name, tier)
    with app_sessions() as session:
        listed = [row for row in list_organizations(session) if row.name in created]
        everyone = list_organizations(session)
        first = first_organization(session)
    assert [(row.id, row.name, row.tier, row.status) for row in listed] == [
        (created[names[0]], names[0], "team", "active"),
        (created[names[1]], names[1], "free", "active"),
        (created[names[2]], names[2], "enterprise", "active"),
    ]
    assert first == everyone[0].name
