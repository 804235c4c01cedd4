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

from appdb.models import RegistryEvent, SeenDigest, WatchedRepository
from submissions.registry_watch import confirm_push, poll_page, submit_digest
from vexxy.errors import RegistryUnavailable, VexxyError
from vexxy.oci.egress import check_registry
from vexxy.oci.registry_client import RegistryClient
from vexxy_pipelines.resources.app_database import AppDatabaseResource
from vexxy_pipelines.resources.registry import RegistryResource

INBOX_BATCH = 1000
POLL_PAGE = 50  # tags read (and HEADed) per polled repository per tick
CONFIRM_ATTEMPTS = 60  # ticks a notified push waits for its registry to answer (about five minutes)
MAX_RETRYING = 1000  # notified pushes waiting in the cursor at most


def _consume_inbox(
    sessions, client_for, allowed: frozenset[str], after: int, retrying: dict[str, int], log
) -> tuple[int, int, int, dict[str, int]]:
    """(events read, submissions created, the last event id read, events to retry with their attempts).

    Each notified digest not yet submitted for its repository is confirmed against the registry
    (HEAD by digest) with no transaction open; one the registry does not serve is dropped with a
    warning. An event whose registry is down is retried on later ticks (at most
    `CONFIRM_ATTEMPTS` times) without holding up the rest of the inbox.
    """
    with sessions() as session:
        rows = list(
            session.scalars(select(RegistryEvent).where(RegistryEvent.id > after).order_by(RegistryEvent.id).limit(INBOX_BATCH))
        )
        if retrying:
            rows += session.scalars(select(RegistryEvent).where(RegistryEvent.id.in_([int(i) for i in retrying])))
        events = sorted((e.id, e.watched_repository_id, e.registry, e.repository, e.digest) for e in rows)
        watched_ids = {e[1] for e in events if e[1] is not None}
        seen = set(
            session.execute(
                select(SeenDigest.watched_repository_id, SeenDigest.digest).where(
                    SeenDigest.watched_repository_id.in_(watched_ids)
                )
            ).all()
        )
        owners = dict(
            session.execute(
                select(WatchedRepository.id, WatchedRepository.organization_id).where(WatchedRepository.id.in_(watched_ids))
            ).all()
        )
    confirmed: list[tuple[int, str]] = []
    down: dict[str, str] = {}
    again: dict[str, int] = {}
    for event_id, watched_id, host, repository, digest in events:
        if watched_id is None or (watched_id, digest) in seen:  # predates per-repository inboxes, or already submitted
            continue
        try:
            if host in down:
                raise RegistryUnavailable(down[host])
            refused = confirm_push(client_for(owners.get(watched_id)), host, repository, digest, allowed)
        except RegistryUnavailable as exc:
            down[host] = exc.message
            attempts = retrying.get(str(event_id), 0) + 1
            if attempts < CONFIRM_ATTEMPTS:
                again[str(event_id)] = attempts
            else:
                log.warning(f"Notified push {host}/{repository}@{digest} dropped: the registry stayed unreachable ({exc})")
            continue
        if refused:
            log.warning(f"Notified push {host}/{repository}@{digest} dropped: {refused}")
        else:
            confirmed.append((watched_id, digest))
    if len(again) > MAX_RETRYING:
        log.warning(f"{len(again) - MAX_RETRYING} notified push(es) dropped: too many registries unreachable at once")
        again = dict(sorted(again.items(), key=lambda item: int(item[0]))[-MAX_RETRYING:])
    for host, message in down.items():
        log.warning(f"Confirming pushes on {host} waits for a later tick: {message}")
    created = 0
    with sessions.begin() as session:
        for watched_id, digest in confirmed:
            watched = session.get(WatchedRepository, watched_id)
            if watched is not None:  # unwatched meanwhile
                created += submit_digest(session, watched, digest, "registry_push") is not None
    last = max([after] + [e.id for e in rows if e.id > after])
    return len(events), created, last, again


@sensor(minimum_interval_seconds=5, default_status=DefaultSensorStatus.RUNNING)
def registry_push_sensor(context: SensorEvaluationContext, app_db: AppDatabaseResource, registry: RegistryResource):
    """Pushes to watched repositories (notified or polled) become submissions."""
    cursor = json.loads(context.cursor) if context.cursor else {}
    positions: dict[str, str] = cursor.get("poll", {})
    sessions = app_db.sessions()
    clients: dict[bool, RegistryClient] = {}

    def client_for(organization: str | None) -> RegistryClient:
        """The organization's registry access: with the login only if it serves them."""
        served = registry.serves(organization)
        if served not in clients:
            clients[served] = registry.for_organization(organization).client()
        return clients[served]

    try:
        notified, created, inbox, retrying = _consume_inbox(
            sessions, client_for, registry.allowed, cursor.get("inbox", 0), cursor.get("retry", {}), context.log
        )
    finally:
        for client in clients.values():
            client.close()
        clients.clear()

    with sessions() as session:  # no transaction is held open while the registry answers
        polled = [
            (w.id, w.organization_id, w.registry, w.repository)
            for w in session.scalars(
                select(WatchedRepository).where(WatchedRepository.mode == "poll").order_by(WatchedRepository.id)
            )
        ]
    found: dict[int, set[str]] = {}
    next_positions: dict[str, str] = {}
    try:
        for watched_id, organization, host, repository in polled:
            last = positions.get(str(watched_id)) or None
            try:
                check_registry(host, registry.allowed)  # the name may resolve elsewhere than when it was watched
                found[watched_id], last = poll_page(client_for(organization), host, repository, last, POLL_PAGE)
            except VexxyError as exc:  # this repository waits for the next tick, at the same position
                context.log.warning(f"Polling {host}/{repository} failed: {exc}")
            if last:
                next_positions[str(watched_id)] = last
    finally:
        for client in clients.values():
            client.close()
    with sessions.begin() as session:
        for watched_id, digests in found.items():
            watched = session.get(WatchedRepository, watched_id)
            if watched is None:  # unwatched while we polled
                continue
            created += sum(submit_digest(session, watched, digest, "registry_poll") is not None for digest in sorted(digests))

    context.update_cursor(json.dumps({"inbox": inbox, "retry": retrying, "poll": next_positions}))
    return SkipReason(f"{created} new submission(s) from {notified} notification(s) and {len(polled)} polled repositor(y/ies).")
