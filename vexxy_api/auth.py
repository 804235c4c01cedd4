"""JWT bearer authentication: issuer, audience, expiry and an allow-listed algorithm, or a 401."""

from __future__ import annotations

from dataclasses import dataclass

import jwt
from fastapi import Depends, Request

from vexxy_api.errors import ApiError
from vexxy_api.settings import ApiSettings


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
        raise ApiError(401, "token_expired", "The bearer token has expired.", hint="Get a new token and retry.")
    except jwt.InvalidTokenError as exc:
        raise ApiError(401, "invalid_token", f"The bearer token is not valid: {exc}.")
    organization, role = claims.get("org"), claims.get("role", "member")
    if not organization or role not in ("member", "admin"):
        raise ApiError(401, "invalid_token", "The bearer token names no organization or an unknown role.")
    return Caller(subject=str(claims["sub"]), organization_id=str(organization), role=role)


def current_caller(request: Request) -> Caller:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "missing_token", "This endpoint needs an `Authorization: Bearer <token>` header.")
    return decode_token(token.strip(), request.app.state.settings)


def admin_caller(caller: Caller = Depends(current_caller)) -> Caller:
    if caller.role != "admin":
        raise ApiError(403, "admin_only", "Only an organization's admins can use the billing endpoints.")
    return caller
