"""An organization's own settings: API keys for CI, and the registry repositories it wants watched.

Admins create and revoke; members may list. A key's secret is shown once, at creation, and only
its SHA-256 is stored. Another organization's key or repository is a 404, as everywhere.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from appdb.models import ApiKey, User, WatchedRepository
from vexxy.config.model import AnalysisConfig
from vexxy.config.secret_box import seal_config
from vexxy.errors import InvalidReference
from vexxy.oci.reference import parse_reference
from vexxy_api.auth import Caller, admin_caller, current_caller, new_api_key
from vexxy_api.egress import refuse_internal_registry
from vexxy_api.errors import ApiError, InvalidState, NotFound
from vexxy_api.limits import PLAIN_TEXT
from vexxy_api.registry_routes import INBOX_SECRET_PREFIX

router = APIRouter(prefix="/api/v1", tags=["organization"])
MAX_NAME = 255  # watched_repositories.registry and .repository


class NewApiKey(BaseModel):
    name: str = Field(
        min_length=1, max_length=100, pattern=PLAIN_TEXT, description="What the key is for, e.g. the CI pipeline's name"
    )
    role: Literal["member", "admin"] = "member"


def _key_view(key: ApiKey) -> dict:
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "role": key.role,
        "created_by": key.created_by,
        "created_at": key.created_at.isoformat(),
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


@router.post("/api-keys", status_code=201)
def create_api_key(request: Request, body: NewApiKey, caller: Caller = Depends(admin_caller)) -> dict:
    key, prefix, secret_hash = new_api_key()
    with request.app.state.sessions.begin() as session:
        user = session.scalar(
            select(User).where(
                User.organization_id == caller.organization_id, or_(User.id == caller.subject, User.email == caller.subject)
            )
        )
        stored = ApiKey(
            organization_id=caller.organization_id,
            user_id=user.id if user else None,
            created_by=caller.subject,
            name=body.name,
            prefix=prefix,
            secret_hash=secret_hash,
            role=body.role,
        )
        session.add(stored)
        session.flush()
        return {**_key_view(stored), "key": key}  # the only time the secret is shown


@router.get("/api-keys")
def list_api_keys(request: Request, caller: Caller = Depends(current_caller)) -> dict:
    with request.app.state.sessions() as session:
        keys = session.scalars(
            select(ApiKey).where(ApiKey.organization_id == caller.organization_id).order_by(ApiKey.created_at)
        ).all()
        return {"api_keys": [_key_view(key) for key in keys]}


@router.delete("/api-keys/{key_id}", status_code=204)
def revoke_api_key(request: Request, key_id: str = Path(max_length=36), caller: Caller = Depends(admin_caller)) -> Response:
    with request.app.state.sessions.begin() as session:
        key = session.scalar(
            select(ApiKey).where(ApiKey.id == key_id, ApiKey.organization_id == caller.organization_id).with_for_update()
        )
        if key is None:
            raise NotFound(f"API key {key_id}")
        key.revoked_at = key.revoked_at or datetime.now(UTC)
    return Response(status_code=204)


class WatchRepository(BaseModel):
    repository: str = Field(max_length=512, description="registry/repository, without a tag or digest")
    mode: Literal["notify", "poll"] = Field(
        default="notify",
        description=(
            "notify: the registry POSTs push events to /api/v1/registry/notifications with the inbox secret "
            "returned once here; poll: vexxy reads its tags"
        ),
    )
    default_config: AnalysisConfig | None = Field(
        default=None, description="the analysis configuration of every analysis of this repository (no secret_env)"
    )


def _watched_view(watched: WatchedRepository) -> dict:
    return {
        "id": watched.id,
        "repository": f"{watched.registry}/{watched.repository}",
        "mode": watched.mode,
        "default_config": watched.default_config or {},
        "created_at": watched.created_at.isoformat(),
    }


@router.post("/watched-repositories", status_code=201)
def watch_repository(request: Request, body: WatchRepository, caller: Caller = Depends(admin_caller)) -> dict:
    text = body.repository.strip()
    try:
        ref = parse_reference(text)
    except InvalidReference as exc:
        raise ApiError(422, "invalid_repository", exc.message, exc.hint) from None
    if "@" in text or ":" in text.rsplit("/", 1)[-1]:
        raise ApiError(
            422,
            "invalid_repository",
            f"{text!r} names an image, not a repository.",
            f"Watch {ref.name} (every tag of it is analyzed).",
        )
    if len(ref.registry) > MAX_NAME or len(ref.repository) > MAX_NAME:
        raise ApiError(422, "invalid_repository", f"A registry and a repository name are at most {MAX_NAME} characters each.")
    refuse_internal_registry(request, ref.registry)
    default_config = _default_config(body.default_config)
    secret, prefix, secret_hash = new_api_key(INBOX_SECRET_PREFIX) if body.mode == "notify" else (None, None, None)
    try:
        with request.app.state.sessions.begin() as session:
            watched = WatchedRepository(
                organization_id=caller.organization_id,
                registry=ref.registry,
                repository=ref.repository,
                mode=body.mode,
                inbox_prefix=prefix,
                inbox_secret_hash=secret_hash,
                default_config=default_config,
            )
            session.add(watched)
            session.flush()
            return {**_watched_view(watched), **_inbox(request, secret)}  # the only time the secret is shown
    except IntegrityError:
        raise InvalidState(
            f"{ref.name} is already watched.", hint="Delete the existing entry to change how it is watched."
        ) from None


def _default_config(config: AnalysisConfig | None) -> dict | None:
    """A repository's default configuration is kept for as long as it is watched, so it may hold no secret."""
    if config is None or config == AnalysisConfig():
        return None
    if config.has_secrets():
        raise ApiError(
            422,
            "invalid_configuration",
            "A watched repository's default configuration cannot hold secret_env values: they are kept only while "
            "one analysis runs.",
            "Use env for values that are not secret, or submit analyses with secret_env through POST /api/v1/analyses.",
        )
    return seal_config(config).public


def _inbox(request: Request, secret: str | None) -> dict:
    if secret is None:
        return {}
    return {
        "notification_url": f"{request.app.state.settings.public_url}/api/v1/registry/notifications",
        "notification_secret": secret,
        "notification_header": f"Authorization: Bearer {secret}",
    }


@router.post("/watched-repositories/{watched_id}/notification-secret", status_code=201)
def rotate_notification_secret(
    request: Request, watched_id: int = Path(ge=1, le=2**31 - 1), caller: Caller = Depends(admin_caller)
) -> dict:
    """A new inbox secret for a notified repository (shown once); the previous one stops working at once."""
    secret, prefix, secret_hash = new_api_key(INBOX_SECRET_PREFIX)
    with request.app.state.sessions.begin() as session:
        watched = session.scalar(
            select(WatchedRepository)
            .where(WatchedRepository.id == watched_id, WatchedRepository.organization_id == caller.organization_id)
            .with_for_update()
        )
        if watched is None:
            raise NotFound(f"Watched repository {watched_id}")
        if watched.mode != "notify":
            raise InvalidState(f"{watched.registry}/{watched.repository} is polled; it has no notification inbox.")
        watched.inbox_prefix, watched.inbox_secret_hash = prefix, secret_hash
        return {**_watched_view(watched), **_inbox(request, secret)}


class DefaultConfig(BaseModel):
    default_config: AnalysisConfig | None = Field(
        default=None, description="the analysis configuration of this repository's future analyses (none: the defaults)"
    )


@router.put("/watched-repositories/{watched_id}/default-config")
def set_default_config(
    request: Request,
    body: DefaultConfig,
    watched_id: int = Path(ge=1, le=2**31 - 1),
    caller: Caller = Depends(admin_caller),
) -> dict:
    """Replace the configuration the repository's next analyses run with (those already submitted keep theirs)."""
    default_config = _default_config(body.default_config)
    with request.app.state.sessions.begin() as session:
        watched = session.scalar(
            select(WatchedRepository).where(
                WatchedRepository.id == watched_id, WatchedRepository.organization_id == caller.organization_id
            )
        )
        if watched is None:
            raise NotFound(f"Watched repository {watched_id}")
        watched.default_config = default_config
        session.flush()
        return _watched_view(watched)


@router.get("/watched-repositories")
def list_watched_repositories(request: Request, caller: Caller = Depends(current_caller)) -> dict:
    with request.app.state.sessions() as session:
        rows = session.scalars(
            select(WatchedRepository)
            .where(WatchedRepository.organization_id == caller.organization_id)
            .order_by(WatchedRepository.id)
        ).all()
        return {"watched_repositories": [_watched_view(row) for row in rows]}


@router.delete("/watched-repositories/{watched_id}", status_code=204)
def unwatch_repository(
    request: Request, watched_id: int = Path(ge=1, le=2**31 - 1), caller: Caller = Depends(admin_caller)
) -> Response:
    with request.app.state.sessions.begin() as session:
        watched = session.scalar(
            select(WatchedRepository).where(
                WatchedRepository.id == watched_id, WatchedRepository.organization_id == caller.organization_id
            )
        )
        if watched is None:
            raise NotFound(f"Watched repository {watched_id}")
        session.delete(watched)
    return Response(status_code=204)
