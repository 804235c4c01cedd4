"""New digests in watched repositories become submissions.

Two sources: the registry's push notifications (the API stores them in an inbox; this sensor
confirms each digest against the registry and consumes the inbox behind a cursor) and, for
registries that cannot notify, polling the tags API one page per repository per tick, the page's
`last` tag kept in the cursor so that a sweep of a large repository spans ticks and survives
restarts. A finished sweep starts again from the first tag,
which is how moved tags are noticed. A digest is submitted once per watched repository, however
many tags point at it.
"""

from __future__ import annotations

import json

from dagster import DefaultSensorStatus, SensorEvaluationContext, SkipReason, sensor
from sqlalchemy import select

from appdb.models import RegistryEvent, WatchedRepository
from appdb.registry_watch import confirm_push, poll_page, submit_digest
from vexxy.errors import RegistryUnavailable, VexxyError
from vexxy.oci.egress import check_registry
from vexxy_pipelines.resources.app_database import AppDatabaseResource
from vexxy_pipelines.resources.registry import RegistryResource

INBOX_BATCH = 1000
POLL_PAGE = 50  # tags read (and HEADed) per polled repository per tick


def _consume_inbox(sessions, client, allowed: frozenset[str], after: int, log) -> tuple[int, int, int]:
    """(events read, submissions created, the last event id handled).

    Each notified digest is confirmed against its registry (HEAD by digest) with no transaction
    open; one that is not served there is dropped with a warning. A registry that is down stops
    the batch at that event, which is read again on the next tick.
    """
    with sessions() as session:
        events = [
            (e.id, e.watched_repository_id, e.registry, e.repository, e.digest)
            for e in session.scalars(
                select(RegistryEvent).where(RegistryEvent.id > after).order_by(RegistryEvent.id).limit(INBOX_BATCH)
            )
        ]
    confirmed: list[tuple[int, str]] = []
    last = after
    for event_id, watched_id, host, repository, digest in events:
        if watched_id is not None:
            try:
                refused = confirm_push(client, host, repository, digest, allowed)
            except RegistryUnavailable as exc:
                log.warning(f"Confirming {host}/{repository}@{digest} waits for the next tick: {exc}")
                break
            if refused:
                log.warning(f"Notified push {host}/{repository}@{digest} dropped: {refused}")
            else:
                confirmed.append((watched_id, digest))
        last = event_id  # an event without a watched repository predates per-repository inboxes: skipped
    created = 0
    with sessions.begin() as session:
        for watched_id, digest in confirmed:
            watched = session.get(WatchedRepository, watched_id)
            if watched is not None:  # unwatched meanwhile
                created += submit_digest(session, watched, digest, "registry_push") is not None
    return len(events), created, last


@sensor(minimum_interval_seconds=5, default_status=DefaultSensorStatus.RUNNING)
def registry_push_sensor(context: SensorEvaluationContext, app_db: AppDatabaseResource, registry: RegistryResource):
    """Pushes to watched repositories (notified or polled) become submissions."""
    cursor = json.loads(context.cursor) if context.cursor else {}
    positions: dict[str, str] = cursor.get("poll", {})
    sessions = app_db.sessions()
    client = registry.client()
    try:
        notified, created, inbox = _consume_inbox(sessions, client, registry.allowed, cursor.get("inbox", 0), context.log)
    finally:
        client.close()

    with sessions() as session:  # no transaction is held open while the registry answers
        polled = [
            (w.id, w.registry, w.repository)
            for w in session.scalars(
                select(WatchedRepository).where(WatchedRepository.mode == "poll").order_by(WatchedRepository.id)
            )
        ]
    found: dict[int, set[str]] = {}
    next_positions: dict[str, str] = {}
    client = registry.client()
    try:
        for watched_id, host, repository in polled:
            last = positions.get(str(watched_id)) or None
            try:
                check_registry(host, registry.allowed)  # the name may resolve elsewhere than when it was watched
                found[watched_id], last = poll_page(client, host, repository, last, POLL_PAGE)
            except VexxyError as exc:  # this repository waits for the next tick, at the same position
                context.log.warning(f"Polling {host}/{repository} failed: {exc}")
            if last:
                next_positions[str(watched_id)] = last
    finally:
        client.close()
    with sessions.begin() as session:
        for watched_id, digests in found.items():
            watched = session.get(WatchedRepository, watched_id)
            if watched is None:  # unwatched while we polled
                continue
            created += sum(submit_digest(session, watched, digest, "registry_poll") is not None for digest in sorted(digests))

    context.update_cursor(json.dumps({"inbox": inbox, "poll": next_positions}))
    return SkipReason(f"{created} new submission(s) from {notified} notification(s) and {len(polled)} polled repositor(y/ies).")
