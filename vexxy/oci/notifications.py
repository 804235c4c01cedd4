"""Distribution's notification envelopes (`{"events": [...]}`), read without trusting them.

A registry (or whoever holds an inbox secret) writes these; an envelope that is not shaped like
Distribution's is refused as a whole, and a push whose digest is not `sha256:<64 hex>` is refused
on its own. Only manifest pushes matter: blob pushes, pulls and deletes are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vexxy.errors import VexxyError
from vexxy.oci.reference import SHA256_DIGEST_RE

MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
MAX_EVENTS = 100
MAX_EVENT_ID = 64  # Distribution's ids are UUIDs
MAX_REPOSITORY = 255
MAX_TAG = 128


class MalformedEnvelope(VexxyError):
    """The notification body is not a Distribution notification envelope."""


@dataclass(frozen=True)
class Push:
    event_id: str
    repository: str
    tag: str | None
    digest: str


@dataclass(frozen=True)
class Envelope:
    pushes: list[Push]
    skipped: int  # events that are not manifest pushes
    bad_digests: list[str]  # event ids of pushes whose digest is not sha256:<64 hex>


def _string(value: Any, limit: int, what: str, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value or len(value) > limit or not value.isprintable():
        raise MalformedEnvelope(f"The notification's {what} must be 1 to {limit} printable characters.")
    return value


def parse_envelope(document: Any) -> Envelope:
    if not isinstance(document, dict) or not isinstance(document.get("events"), list):
        raise MalformedEnvelope('The notification is not an envelope ({"events": [...]}).')
    events = document["events"]
    if len(events) > MAX_EVENTS:
        raise MalformedEnvelope(f"The notification carries {len(events)} events; at most {MAX_EVENTS} are accepted.")
    pushes, skipped, bad = [], 0, []
    for event in events:
        if not isinstance(event, dict) or not isinstance(event.get("target", {}), dict):
            raise MalformedEnvelope("Every event must be an object with an object `target`.")
        event_id = _string(event.get("id"), MAX_EVENT_ID, "event id")
        target = event.get("target") or {}
        if event.get("action") != "push" or target.get("mediaType") not in MANIFEST_TYPES:
            skipped += 1
            continue
        repository = _string(target.get("repository"), MAX_REPOSITORY, "target repository")
        tag = _string(target.get("tag"), MAX_TAG, "target tag", optional=True)
        digest = target.get("digest")
        if not isinstance(digest, str) or not SHA256_DIGEST_RE.match(digest):
            bad.append(event_id)
            continue
        pushes.append(Push(event_id, repository, tag, digest))
    return Envelope(pushes, skipped, bad)
