"""Watched repositories: new digests become submissions, once per repository however many tags point at them.

Digests arrive from the registry's push notifications (stored by the API) or from polling the
registry's tags API page by page, the `last` tag of each page being the cursor.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from appdb import lifecycle
from appdb.models import SeenDigest, Submission, WatchedRepository, new_id
from billing.errors import PaymentRequired, QuotaExceeded
from billing.pricing import config_limits, run_priority
from billing.quota import organization_tier
from vexxy.analysis_config import ConfigError, check_limits, config_hash, parse
from vexxy.errors import RegistryUnavailable, VexxyError
from vexxy.oci.egress import check_registry
from vexxy.oci.reference import SHA256_DIGEST_RE, ImageReference
from vexxy.oci.registry_client import RegistryClient

DEFAULT_OBSERVATION_SECONDS = 60


def submit_digest(session: Session, watched: WatchedRepository, digest: str, source: str) -> Submission | None:
    """One submission per (watched repository, digest); quota applies as for the API (a refused one is recorded as failed)."""
    if session.scalar(select(SeenDigest).where(SeenDigest.watched_repository_id == watched.id, SeenDigest.digest == digest)):
        return None
    plan = organization_tier(session, watched.organization_id)
    fields = {
        "organization_id": watched.organization_id,
        "submitted_by": f"registry:{source}",
        "source": source,
        "image_reference": f"{watched.registry}/{watched.repository}@{digest}",
        "priority": run_priority(plan),
        "fuzzing": plan.fuzzing_included,
        "observation_seconds": min(DEFAULT_OBSERVATION_SECONDS, plan.max_observation_seconds),
        "correlation_id": uuid.uuid4().hex,
    }
    try:
        if watched.default_config:
            config = parse(watched.default_config)
            check_limits(config, config_limits(plan), fields["observation_seconds"])
            fields["fuzzing"] = plan.fuzzing_included and config.fuzzing is not False
            fields.update(config=watched.default_config, config_hash=config_hash(watched.default_config))
        with session.begin_nested():
            submission = lifecycle.create(session, **fields)
    except (QuotaExceeded, PaymentRequired, ConfigError) as exc:
        submission = lifecycle.refused(session, Submission(id=new_id(), **fields), str(exc))
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
