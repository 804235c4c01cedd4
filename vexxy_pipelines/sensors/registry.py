"""New digests in watched repositories become submissions.

Two sources: the registry's push notifications (the API stores them in an inbox; this sensor
consumes it behind a cursor) and, for registries that cannot notify, polling the tags API.
A digest is submitted once per watched repository, however many tags point at it.
"""

from __future__ import annotations

import json
import uuid

from dagster import DefaultSensorStatus, SensorEvaluationContext, SkipReason, sensor
from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.errors import PaymentRequired, QuotaExceeded
from billing.quota import check_quota, organization_tier
from billing.submissions import RegistryEvent, SeenDigest, Submission, WatchedRepository
from vexxy.errors import VexxyError
from vexxy.oci.reference import ImageReference
from vexxy_pipelines.resources.app_database import AppDatabaseResource
from vexxy_pipelines.resources.registry import RegistryResource

INBOX_BATCH = 1000


def submit_digest(session: Session, watched: WatchedRepository, digest: str, tag: str | None, source: str) -> Submission | None:
    """One submission per (watched repository, digest); quota applies as for the API."""
    if session.scalar(select(SeenDigest).where(SeenDigest.watched_repository_id == watched.id, SeenDigest.digest == digest)):
        return None
    submission_id = str(uuid.uuid4())
    plan = organization_tier(session, watched.organization_id)
    submission = Submission(
        id=submission_id, organization_id=watched.organization_id, submitted_by=f"registry:{source}", source=source,
        image_reference=f"{watched.registry}/{watched.repository}@{digest}", image_digest=None, priority=plan.priority,
        fuzzing=plan.fuzzing_included, observation_seconds=min(60, plan.max_observation_seconds), correlation_id=uuid.uuid4().hex,
    )
    try:
        with session.begin_nested():
            check_quota(session, watched.organization_id, submission_id)
    except (QuotaExceeded, PaymentRequired) as exc:
        submission.status, submission.phase, submission.error_step, submission.error_message = "failed", "failed", "submission", str(exc)
    session.add(submission)
    session.add(SeenDigest(watched_repository_id=watched.id, digest=digest, submission_id=submission_id))
    return submission


@sensor(minimum_interval_seconds=5, default_status=DefaultSensorStatus.RUNNING)
def registry_push_sensor(context: SensorEvaluationContext, app_db: AppDatabaseResource, registry: RegistryResource):
    """Pushes to watched repositories (notified or polled) become submissions."""
    cursor = json.loads(context.cursor) if context.cursor else {"inbox": 0}
    sessions = app_db.sessions()
    created = 0
    with sessions.begin() as session:
        events = session.scalars(select(RegistryEvent).where(RegistryEvent.id > cursor["inbox"]).order_by(RegistryEvent.id).limit(INBOX_BATCH)).all()
        for event in events:
            watchers = session.scalars(
                select(WatchedRepository).where(WatchedRepository.repository == event.repository, WatchedRepository.registry == event.registry)
            ).all()
            for watched in watchers:
                created += submit_digest(session, watched, event.digest, event.tag, "registry_push") is not None
        if events:
            cursor["inbox"] = events[-1].id
        polled = session.scalars(select(WatchedRepository).where(WatchedRepository.mode == "poll")).all()
        client = registry.client()
        try:
            for watched in polled:
                ref = ImageReference(watched.registry, watched.repository)
                try:
                    for tag in client.list_tags(ref):
                        _, _, digest = client.get_manifest(ImageReference(watched.registry, watched.repository, tag=tag))
                        created += submit_digest(session, watched, digest, tag, "registry_poll") is not None
                except VexxyError as exc:
                    context.log.warning(f"Polling {watched.registry}/{watched.repository} failed: {exc}")
        finally:
            client.close()
    context.update_cursor(json.dumps(cursor))
    return SkipReason(f"{created} new submission(s) from {len(events)} notification(s) and {len(polled)} polled repositor(y/ies).")
