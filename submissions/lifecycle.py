"""The submission life cycle, written once for the submission service and the sensors.

    created (queued) ─> run requested ─> running ─> complete | failed | cancelled
                    └─> running, sharing another submission's run (same organization, digest and terms)
                    └─> failed at "submission" (reference not resolvable, quota refused)

Quota follows it: reserved when the submission is created, consumed when the analysis is charged
(`billing.ledger`), released when it fails or is cancelled. A finished submission never changes
state again (a re-execution launched from the UI copies the run's tags and must not revive it).
Secret environment values (encrypted) are kept only while a submission may still start or run: they
are deleted the moment it finishes, fails or shares another submission's run.
Every function works inside the caller's transaction.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from appdb.models import Submission, new_id
from billing.quota import check_quota, release
from submissions.secrets import drop_secrets, store_secrets
from vexxy.errors import VexxyError

QUEUED, RUNNING, COMPLETE, FAILED, CANCELLED = "queued", "running", "complete", "failed", "cancelled"
LIVE = (QUEUED, RUNNING)
FINISHED = (COMPLETE, FAILED, CANCELLED)
SUBMISSION_STEP = "submission"  # the "step" named when a submission fails before it has a run


class InvalidTransition(VexxyError):
    """The submission is not in a state that allows this (e.g. cancelling a finished one)."""


def create(
    session: Session,
    *,
    organization_id: str,
    image_reference: str,
    source: str,
    submitted_by: str | None,
    priority: int,
    fuzzing: bool,
    observation_seconds: int,
    correlation_id: str,
    submission_id: str | None = None,
    config: dict | None = None,
    config_hash: str | None = None,
    secrets: bytes | None = None,
) -> Submission:
    """A queued submission with one analysis of quota reserved; raises the quota's errors (nothing is written then).
    `config` is the public form of its analysis configuration, `secrets` its encrypted secret values."""
    submission_id = submission_id or new_id()
    check_quota(session, organization_id, submission_id)
    submission = Submission(
        id=submission_id,
        organization_id=organization_id,
        submitted_by=submitted_by,
        source=source,
        image_reference=image_reference,
        priority=priority,
        fuzzing=fuzzing,
        observation_seconds=observation_seconds,
        correlation_id=correlation_id,
        status=QUEUED,
        phase=QUEUED,
        config=config or None,
        config_hash=config_hash,
    )
    if (seq := _next_seq(session)) is not None:
        submission.seq = seq
    session.add(submission)
    if secrets is not None:
        store_secrets(session, submission_id, secrets)
    session.flush()
    return submission


def _next_seq(session: Session) -> int | None:
    """PostgreSQL numbers submissions itself (an identity column); SQLite has no identity for a column that
    is not the primary key, so the next number is taken inside the writing transaction (SQLite runs one
    writer at a time, and `seq` is unique: a race is an error, never a duplicate)."""
    if session.get_bind().dialect.name != "sqlite":
        return None
    return (session.scalar(select(func.max(Submission.seq))) or 0) + 1


def refused(session: Session, submission: Submission, message: str) -> Submission:
    """Record a submission that was refused before it was queued (no quota was reserved for it)."""
    if submission.seq is None and (seq := _next_seq(session)) is not None:
        submission.seq = seq
    submission.status, submission.phase, submission.error_step, submission.error_message = (
        FAILED,
        FAILED,
        SUBMISSION_STEP,
        message,
    )
    session.add(submission)
    return submission


def run_requested(session: Session, submission_id: str, digest: str, partition_key: str) -> None:
    session.execute(
        update(Submission)
        .where(Submission.id == submission_id, Submission.status == QUEUED)
        .values(image_digest=digest, partition_key=partition_key, phase="run requested")
    )


def analysis_terms(
    organization_id: str, digest: str, config_hash: str | None, fuzzing: bool, observation_seconds: int
) -> tuple[str, str, str, bool, int]:
    """What a submission must agree on with a live analysis of its digest to share its run: the organization
    and every setting that changes the evidence (the configuration, whose hash covers its roles and their
    windows; fuzzing; the observation window). A submission asking for fuzzing never follows a run without it."""
    return organization_id, digest, config_hash or "", bool(fuzzing), int(observation_seconds)


def share_run(session: Session, submission_id: str, digest: str, partition_key: str, primary_id: str) -> None:
    """The organization is already analyzing this digest on the same terms: follow that run instead of starting
    another (see `analysis_terms`)."""
    session.execute(
        update(Submission)
        .where(Submission.id == submission_id, Submission.status == QUEUED)
        .values(
            image_digest=digest,
            partition_key=partition_key,
            shared_with=primary_id,
            status=RUNNING,
            phase="sharing a running analysis",
        )
    )
    drop_secrets(session, [submission_id])  # the run it shares has its own (the same configuration)


def fail_before_run(session: Session, submission_id: str, message: str) -> None:
    """The submission cannot become a run (its reference does not resolve): failed, quota given back."""
    submission = session.get(Submission, submission_id)
    if submission is None or submission.status not in LIVE:
        return
    submission.status, submission.phase, submission.error_step, submission.error_message = (
        FAILED,
        FAILED,
        SUBMISSION_STEP,
        message,
    )
    release(session, submission.organization_id, submission.id)
    drop_secrets(session, [submission.id])


def _follow_run(session: Session, submission_id: str, release_quota: bool = False, **values) -> list[str]:
    """Update a live submission and those sharing its run; returns the ids updated."""
    rows = session.execute(
        update(Submission)
        .where(or_(Submission.id == submission_id, Submission.shared_with == submission_id), Submission.status.in_(LIVE))
        .values(**values)
        .returning(Submission.id, Submission.organization_id)
    ).all()
    if release_quota:
        for row_id, organization_id in rows:
            release(session, organization_id, row_id)
    if values.get("status") in FINISHED:
        drop_secrets(session, [submission_id, *(row_id for row_id, _ in rows)])
    return [row_id for row_id, _ in rows]


def run_started(session: Session, submission_id: str, run_id: str) -> list[str]:
    return _follow_run(session, submission_id, status=RUNNING, phase="started", run_id=run_id)


def run_progressed(session: Session, submission_id: str, phase: str, progress: int) -> list[str]:
    return _follow_run(session, submission_id, phase=phase, progress=progress)


def run_succeeded(session: Session, submission_id: str, run_id: str) -> list[str]:
    return _follow_run(session, submission_id, status=COMPLETE, phase=COMPLETE, progress=100, run_id=run_id)


def run_failed(session: Session, submission_id: str, run_id: str, step: str, message: str) -> list[str]:
    return _follow_run(
        session,
        submission_id,
        release_quota=True,
        status=FAILED,
        phase=FAILED,
        error_step=step,
        error_message=message,
        run_id=run_id,
    )


def run_cancelled(session: Session, submission_id: str, run_id: str) -> list[str]:
    return _follow_run(session, submission_id, release_quota=True, status=CANCELLED, phase=CANCELLED, run_id=run_id)


def cancel(session: Session, submission: Submission) -> None:
    """A customer's cancellation: a submission with a run of its own asks the cancellation sensor to end
    it; one with nothing of its own started is cancelled at once and gives its quota back."""
    if submission.status in FINISHED:
        raise InvalidTransition(f"Analysis {submission.id} is already {submission.status}.")
    if submission.shared_with is None:
        submission.cancel_requested = True
    if submission.run_id is None or submission.shared_with is not None:
        submission.status, submission.phase = CANCELLED, CANCELLED
        release(session, submission.organization_id, submission.id)
        drop_secrets(session, [submission.id])


def delete(session: Session, submission: Submission) -> None:
    if submission.status not in FINISHED:
        raise InvalidTransition(f"Analysis {submission.id} is {submission.status}.", hint="Cancel it first, then delete it.")
    submission.deleted = True
