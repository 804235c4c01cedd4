"""Watched repositories: new digests become submissions, once per repository however many tags point at them.

Digests arrive from the registry's push notifications (stored by the API) or from polling the
registry's tags API page by page, the `last` tag of each page being the cursor.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from appdb.models import SeenDigest, Submission, WatchedRepository
from submissions.service import SubmissionRequest, submit
from vexxy.errors import RegistryUnavailable, VexxyError
from vexxy.oci.egress import check_registry
from vexxy.oci.reference import SHA256_DIGEST_RE, ImageReference
from vexxy.oci.registry_client import RegistryClient


def submit_digest(session: Session, watched: WatchedRepository, digest: str, source: str) -> Submission | None:
    """One submission per (watched repository, digest), on the terms `submit` decides for any submitter with the
    repository's default configuration; a refused one is recorded as failed (nobody waits on an answer)."""
    if session.scalar(select(SeenDigest).where(SeenDigest.watched_repository_id == watched.id, SeenDigest.digest == digest)):
        return None
    request = SubmissionRequest(
        organization_id=watched.organization_id,
        image_reference=f"{watched.registry}/{watched.repository}@{digest}",
        source=source,
        submitted_by=f"registry:{source}",
        correlation_id=uuid.uuid4().hex,
        config=watched.default_config,
    )
    submission = submit(session, request, record_refusal=True)
    session.add(SeenDigest(watched_repository_id=watched.id, digest=digest, submission_id=submission.id))
    return submission


def confirm_push(client: RegistryClient, registry: str, repository: str, digest: str, allowed: frozenset[str]) -> str | None:
    """Why a notified digest must not become a submission, or None once the registry serves it (HEAD by digest).

    A registry that is down raises RegistryUnavailable: the notification waits for the next tick.
    """
    if not SHA256_DIGEST_RE.match(digest):
        return f"digest {digest!r} is not sha256:<64 hex>"
    try:
        check_registry(registry, allowed)
        served = client.manifest_digest(ImageReference(registry, repository, digest=digest))
    except RegistryUnavailable:
        raise
    except VexxyError as exc:
        return exc.message
    return None if served == digest else f"the registry serves {served} for {digest}"


def poll_page(
    client: RegistryClient, registry: str, repository: str, last: str | None, page_size: int
) -> tuple[set[str], str | None]:
    """The digests of one page of tags after `last`, and the cursor of the next page (None: the sweep is complete)."""
    tags, next_last = client.tags_page(ImageReference(registry, repository), last, page_size)
    return {client.manifest_digest(ImageReference(registry, repository, tag=tag)) for tag in tags}, next_last
