"""JWT bearer authentication: issuer, audience, expiry and an allow-listed algorithm, or a 401."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import jwt
from fastapi import Depends, Request
from sqlalchemy import select

from appdb.models import ApiKey, Organization
from vexxy.errors import VexxyError
from vexxy_api.errors import ApiError
from vexxy_api.settings import ApiSettings

MAX_SUBJECT = 100  # submissions.submitted_by
MAX_ORGANIZATION_ID = 36  # organizations.id


@dataclass(frozen=True)
class Caller:
    subject: str
    organization_id: str
    role: str  # member | admin


def decode_token(token: str, settings: ApiSettings) -> Caller:
    if not settings.jwt_key:
        raise ApiError(503, "auth_not_configured", "The API has no token verification key configured (VEXXY_JWT_KEY).")
    try:
        claims = jwt.decode(
            token,
            settings.jwt_key,
            algorithms=list(settings.jwt_algorithms),
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise ApiError(401, "token_expired", "The bearer token has expired.", hint="Get a new token and retry.") from None
    except jwt.InvalidTokenError as exc:
        raise ApiError(401, "invalid_token", f"The bearer token is not valid: {exc}.") from None
    subject, organization, role = claims.get("sub"), claims.get("org"), claims.get("role", "member")
    if not _bounded(organization, MAX_ORGANIZATION_ID) or role not in ("member", "admin"):
        raise ApiError(401, "invalid_token", "The bearer token names no organization or an unknown role.")
    if not _bounded(subject, MAX_SUBJECT):
        raise ApiError(401, "invalid_token", f"The bearer token's subject must be 1 to {MAX_SUBJECT} printable characters.")
    return Caller(subject=subject, organization_id=organization, role=role)


def issue_token(settings: ApiSettings, organization_id: str, subject: str, role: str, lifetime_seconds: int) -> str:
    """A bearer token this API accepts, signed with its own shared key: to try the API where no identity provider issues them."""
    shared = [a for a in settings.jwt_algorithms if a.startswith("HS")]
    if not settings.jwt_key or not shared:
        raise VexxyError(
            "Issuing a token needs VEXXY_JWT_KEY set to a shared secret and an HS algorithm in VEXXY_JWT_ALGORITHMS.",
            hint="With a public key, tokens come from the identity provider that holds its private key.",
        )
    if not _bounded(subject, MAX_SUBJECT) or role not in ("member", "admin") or lifetime_seconds <= 0:
        raise VexxyError(f"A token's subject is 1 to {MAX_SUBJECT} printable characters, its role member or admin.")
    now = int(time.time())
    claims = {"sub": subject, "org": organization_id, "role": role, "iss": settings.jwt_issuer, "aud": settings.jwt_audience}
    return jwt.encode({**claims, "iat": now, "exp": now + lifetime_seconds}, settings.jwt_key, algorithm=shared[0])


def _bounded(value: object, limit: int) -> bool:
    """A non-empty string of printable characters that fits its column."""
    return isinstance(value, str) and 0 < len(value) <= limit and value.isprintable()


API_KEY_PREFIX = "vxk_"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_api_key(marker: str = API_KEY_PREFIX) -> tuple[str, str, str]:
    """(the key to hand out once, its public prefix, the hash to store)."""
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    return f"{marker}{prefix}.{secret}", prefix, hash_secret(secret)


def split_key(key: str, marker: str) -> tuple[str, str] | None:
    """(prefix, secret) of `<marker><prefix>.<secret>`, or None when it is not shaped so."""
    if not key.startswith(marker):
        return None
    prefix, dot, secret = key[len(marker) :].partition(".")
    return (prefix, secret) if dot and 0 < len(prefix) <= 16 and secret else None


def _api_key_caller(request: Request, key: str) -> Caller:
    prefix, secret = split_key(key, API_KEY_PREFIX) or ("", "")
    with request.app.state.sessions() as session:
        stored = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix)) if prefix else None
    if stored is None or stored.revoked_at is not None or not hmac.compare_digest(stored.secret_hash, hash_secret(secret)):
        raise ApiError(401, "invalid_api_key", "The API key is unknown or revoked.")
    return Caller(subject=f"api-key:{stored.id}", organization_id=stored.organization_id, role=stored.role)


def current_caller(request: Request) -> Caller:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401, "missing_token", "This endpoint needs an `Authorization: Bearer <token>` header (a JWT or an API key)."
        )
    token = token.strip()
    if token.startswith(API_KEY_PREFIX):
        return _api_key_caller(request, token)  # a key's organization exists: keys are deleted with it
    caller = decode_token(token, request.app.state.settings)
    with request.app.state.sessions() as session:
        known = session.get(Organization, caller.organization_id) is not None
    if not known:
        raise ApiError(
            403,
            "unknown_organization",
            f"The token's organization {caller.organization_id!r} is not known to vexxy.",
            "Ask vexxy support to set up the organization, or use a token issued for an existing one.",
        )
    return caller


def admin_caller(caller: Caller = Depends(current_caller)) -> Caller:
    if caller.role != "admin":
        raise ApiError(403, "admin_only", "Only an organization's admins can do this.")
    return caller
