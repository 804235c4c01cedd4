"""New digests in watched repositories become submissions.

Two sources: the registry's push notifications (the API stores them in an inbox; this sensor
consumes it behind a cursor) and, for registries that cannot notify, polling the tags API one
page per repository per tick, the page's `last` tag kept in the cursor so that a sweep of a large
repository spans ticks and survives restarts. A finished sweep starts again from the first tag,
which is how moved tags are noticed. A digest is submitted once per watched repository, however
many tags point at it.
"""

from __future__ import annotations

import json

from dagster import DefaultSensorStatus, SensorEvaluationContext, SkipReason, sensor
from sqlalchemy import select

from appdb.models import RegistryEvent, WatchedRepository
from appdb.registry_watch import poll_page, submit_digest
from vexxy.errors import VexxyError
from vexxy_pipelines.resources.app_database import AppDatabaseResource
from vexxy_pipelines.resources.registry import RegistryResource

INBOX_BATCH = 1000
POLL_PAGE = 50  # tags read (and HEADed) per polled repository per tick


def _consume_inbox(sessions, after: int) -> tuple[int, int, int]:
    """(events read, submissions created, the last event id)."""
    created = 0
    with sessions.begin() as session:
        events = session.scalars(
            select(RegistryEvent).where(RegistryEvent.id > after).order_by(RegistryEvent.id).limit(INBOX_BATCH)
        ).all()
        for event in events:
            watchers = session.scalars(
                select(WatchedRepository).where(
                    WatchedRepository.repository == event.repository, WatchedRepository.registry == event.registry
                )
            ).all()
            created += sum(submit_digest(session, watched, event.digest, "registry_push") is not None for watched in watchers)
        return len(events), created, (events[-1].id if events else after)


@sensor(minimum_interval_seconds=5, default_status=DefaultSensorStatus.RUNNING)
def registry_push_sensor(context: SensorEvaluationContext, app_db: AppDatabaseResource, registry: RegistryResource):
    """Pushes to watched repositories (notified or polled) become submissions."""
    cursor = json.loads(context.cursor) if context.cursor else {}
    positions: dict[str, str] = cursor.get("poll", {})
    sessions = app_db.sessions()
    notified, created, inbox = _consume_inbox(sessions, cursor.get("inbox", 0))

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
