"""The registry notification inbox: Distribution's `notifications.endpoints` POST push events here.

Each notified watched repository has its own inbox secret (`vxn_<prefix>.<secret>`, shown once
when the repository is watched, stored as a SHA-256), sent as `Authorization: Bearer <secret>`.
The secret names the repository: events about any other repository are ignored, and the registry
is the watched one, never what the envelope says. The registry_push_sensor confirms each digest
against the registry before it becomes a submission.
"""

from __future__ import annotations

import hmac
import json

from fastapi import APIRouter, Request
from sqlalchemy import select

from appdb.models import RegistryEvent, WatchedRepository
from vexxy.oci.notifications import MalformedEnvelope, parse_envelope
from vexxy_api.auth import hash_secret, split_key
from vexxy_api.errors import ApiError

router = APIRouter(prefix="/api/v1/registry", tags=["registry"])
INBOX_SECRET_PREFIX = "vxn_"


def _watched_repository(request: Request) -> WatchedRepository:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    parts = split_key(token.strip(), INBOX_SECRET_PREFIX) if scheme.lower() == "bearer" else None
    watched = None
    if parts is not None:
        with request.app.state.sessions() as session:
            watched = session.scalar(select(WatchedRepository).where(WatchedRepository.inbox_prefix == parts[0]))
    if watched is None or not hmac.compare_digest(watched.inbox_secret_hash or "", hash_secret(parts[1])):
        raise ApiError(
            401,
            "bad_notification_secret",
            "The registry notification carries no or a wrong inbox secret.",
            "Send `Authorization: Bearer <the watched repository's notification_secret>`.",
        )
    if watched.mode != "notify":
        raise ApiError(409, "not_notified", f"{watched.registry}/{watched.repository} is watched by polling, not notified.")
    return watched


ENVELOPE_SCHEMA = {
    "type": "object",
    "required": ["events"],
    "properties": {
        "events": {
            "type": "array",
            "maxItems": 100,
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string", "maxLength": 64},
                    "action": {"type": "string", "enum": ["push", "pull", "delete", "mount"]},
                    "target": {
                        "type": "object",
                        "properties": {
                            "mediaType": {"type": "string"},
                            "digest": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"},
                            "repository": {"type": "string", "maxLength": 255},
                            "tag": {"type": "string", "maxLength": 128},
                        },
                    },
                },
            },
        }
    },
}


@router.post(
    "/notifications",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": ENVELOPE_SCHEMA}}}},
)
async def notifications(request: Request) -> dict:
    watched = _watched_repository(request)
    try:
        envelope = parse_envelope(json.loads(await request.body()))
    except ValueError:
        raise ApiError(400, "bad_payload", "The notification body is not JSON.") from None
    except MalformedEnvelope as exc:
        raise ApiError(400, "malformed_notification", exc.message) from None
    stored = ignored = 0
    with request.app.state.sessions.begin() as session:
        for push in envelope.pushes:
            event_id = f"{watched.id}/{push.event_id}"
            if push.repository != watched.repository:
                ignored += 1
                continue
            if session.scalar(select(RegistryEvent.id).where(RegistryEvent.event_id == event_id)) is not None:
                continue
            session.add(
                RegistryEvent(
                    event_id=event_id,
                    watched_repository_id=watched.id,
                    registry=watched.registry,
                    repository=watched.repository,
                    tag=push.tag,
                    digest=push.digest,
                )
            )
            stored += 1
    return {
        "stored": stored,
        "ignored": ignored + envelope.skipped,
        "refused": [{"id": event_id, "reason": "digest is not sha256:<64 hex>"} for event_id in envelope.bad_digests],
    }
