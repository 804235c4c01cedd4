"""The registry notification inbox: Distribution's `notifications.endpoints` POST push events here."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from sqlalchemy import select

from appdb.models import RegistryEvent
from vexxy_api.errors import ApiError

router = APIRouter(prefix="/api/v1/registry", tags=["registry"])
MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)


@router.post("/notifications")
async def notifications(request: Request) -> dict:
    secret = request.app.state.settings.registry_notification_secret
    if not secret:
        raise ApiError(503, "notifications_not_configured", "VEXXY_REGISTRY_NOTIFICATION_SECRET is not set.")
    if not hmac.compare_digest(request.headers.get("Authorization", ""), f"Bearer {secret}"):
        raise ApiError(401, "bad_notification_secret", "The registry notification carries no or a wrong shared secret.")
    try:
        envelope = await request.json()
    except ValueError:
        raise ApiError(400, "bad_payload", "The notification body is not JSON.") from None
    stored = 0
    with request.app.state.sessions.begin() as session:
        for event in envelope.get("events", []):
            target = event.get("target") or {}
            if event.get("action") != "push" or target.get("mediaType") not in MANIFEST_TYPES or not target.get("digest"):
                continue
            if session.scalar(select(RegistryEvent.id).where(RegistryEvent.event_id == event["id"])) is not None:
                continue
            session.add(
                RegistryEvent(
                    event_id=event["id"],
                    registry=(event.get("request") or {}).get("host", ""),
                    repository=target.get("repository", ""),
                    tag=target.get("tag"),
                    digest=target["digest"],
                )
            )
            stored += 1
    return {"stored": stored}
