"""The submission life cycle on the real application database, PostgreSQL and the SQLite default:
states move one way, quota follows them."""

import uuid

import pytest
from billing_helpers import make_organization
from sqlalchemy import select

from appdb.models import QuotaReservation, Submission
from billing.errors import QuotaExceeded
from submissions import lifecycle


def create(sessions, organization: str, **overrides) -> str:
    fields = {
        "organization_id": organization,
        "image_reference": "registry.example/app:1",
        "source": "api",
        "submitted_by": "user-1",
        "priority": 0,
        "fuzzing": False,
        "observation_seconds": 60,
        "correlation_id": uuid.uuid4().hex,
        **overrides,
    }
    with sessions.begin() as session:
        return lifecycle.create(session, **fields).id


def state(sessions, submission_id: str) -> tuple[str, str | None]:
    with sessions() as session:
        row = session.get(Submission, submission_id)
        reservation = session.scalar(select(QuotaReservation.status).where(QuotaReservation.submission_id == submission_id))
    return row.status, reservation


def test_created_queued_with_quota_reserved_and_numbered_in_order(app_sessions):
    organization = make_organization(app_sessions, tier="team")
    first, second = create(app_sessions, organization), create(app_sessions, organization)
    assert state(app_sessions, first) == ("queued", "reserved")
    with app_sessions() as session:
        assert session.get(Submission, first).seq < session.get(Submission, second).seq  # the intake sensor's cursor


def test_a_refused_quota_writes_nothing(app_sessions):
    from billing.pricing import tier

    organization = make_organization(app_sessions, tier="free")
    for _ in range(tier("free").monthly_analyses):
        create(app_sessions, organization)
    with pytest.raises(QuotaExceeded):
        create(app_sessions, organization)
    with app_sessions() as session:
        count = len(session.scalars(select(Submission.id).where(Submission.organization_id == organization)).all())
    assert count == tier("free").monthly_analyses


def test_a_failed_run_fails_its_sharers_releases_quota_and_nothing_revives_them(app_sessions):
    organization = make_organization(app_sessions, tier="team")
    primary, sharer = create(app_sessions, organization), create(app_sessions, organization)
    digest = "sha256:" + "a" * 64
    with app_sessions.begin() as session:
        lifecycle.run_requested(session, primary, digest, f"r/app@{digest}")
        lifecycle.share_run(session, sharer, digest, f"r/app@{digest}", primary)
        assert sorted(lifecycle.run_started(session, primary, "run-1")) == sorted([primary, sharer])
        lifecycle.run_failed(session, primary, "run-1", "sbom", "Syft failed")
    assert state(app_sessions, primary) == ("failed", "released")
    assert state(app_sessions, sharer) == ("failed", "released")
    with app_sessions.begin() as session:  # a re-execution from the UI carries the same tags
        assert lifecycle.run_started(session, primary, "run-2") == []
        assert lifecycle.run_succeeded(session, primary, "run-2") == []
    assert state(app_sessions, primary) == ("failed", "released")


def test_a_successful_run_completes_and_keeps_the_reservation_for_billing(app_sessions):
    organization = make_organization(app_sessions, tier="team")
    submission = create(app_sessions, organization)
    with app_sessions.begin() as session:
        lifecycle.run_started(session, submission, "run-1")
        lifecycle.run_progressed(session, submission, "sbom", 28)
        lifecycle.run_succeeded(session, submission, "run-1")
    assert state(app_sessions, submission) == ("complete", "reserved")  # billing_record consumes it


def test_cancel_before_and_after_the_run_started_and_delete(app_sessions):
    organization = make_organization(app_sessions, tier="team")
    waiting, started = create(app_sessions, organization), create(app_sessions, organization)
    with app_sessions.begin() as session:
        lifecycle.run_started(session, started, "run-1")
    with app_sessions.begin() as session:
        lifecycle.cancel(session, session.get(Submission, waiting))
        lifecycle.cancel(session, session.get(Submission, started))
    assert state(app_sessions, waiting) == ("cancelled", "released")
    assert state(app_sessions, started) == ("running", "reserved")  # the cancellation sensor ends its run
    with app_sessions() as session:
        assert session.get(Submission, started).cancel_requested
    with app_sessions.begin() as session:
        with pytest.raises(lifecycle.InvalidTransition):
            lifecycle.delete(session, session.get(Submission, started))
        with pytest.raises(lifecycle.InvalidTransition):
            lifecycle.cancel(session, session.get(Submission, waiting))
        lifecycle.delete(session, session.get(Submission, waiting))
    with app_sessions() as session:
        assert session.get(Submission, waiting).deleted


def test_an_unresolvable_reference_fails_at_submission_and_releases(app_sessions):
    organization = make_organization(app_sessions, tier="team")
    submission = create(app_sessions, organization)
    with app_sessions.begin() as session:
        lifecycle.fail_before_run(session, submission, "Image manifest not found")
    with app_sessions() as session:
        row = session.get(Submission, submission)
    assert (row.status, row.error_step, row.error_message) == ("failed", "submission", "Image manifest not found")
    assert state(app_sessions, submission) == ("failed", "released")
