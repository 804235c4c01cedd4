"""API settings, from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from vexxy import settings as vexxy_settings
from vexxy.errors import VexxyError
from vexxy.oci.egress import allowed_registries_from_env

LOG_FORMATS = ("text", "json")


def log_format_from_env() -> str:
    value = os.environ.get("VEXXY_LOG_FORMAT", "").strip().lower() or "text"
    if value not in LOG_FORMATS:
        raise VexxyError(
            f"VEXXY_LOG_FORMAT={os.environ.get('VEXXY_LOG_FORMAT')!r} is not a log format.",
            hint=f"Set it to one of {', '.join(LOG_FORMATS)}, or leave it unset for text.",
        )
    return value


@dataclass(frozen=True)
class ApiSettings:
    database_url: str | None = field(default_factory=lambda: os.environ.get("DATABASE_URL"))
    jwt_key: str = field(default_factory=lambda: os.environ.get("VEXXY_JWT_KEY", ""))  # HS secret or PEM public key
    jwt_algorithms: tuple[str, ...] = field(
        default_factory=lambda: tuple(a.strip() for a in os.environ.get("VEXXY_JWT_ALGORITHMS", "HS256").split(",") if a.strip())
    )
    jwt_issuer: str = field(default_factory=lambda: os.environ.get("VEXXY_JWT_ISSUER", "https://auth.vexxy.dev/"))
    jwt_audience: str = field(default_factory=lambda: os.environ.get("VEXXY_JWT_AUDIENCE", "vexxy-api"))
    stripe_api_key: str = field(default_factory=lambda: os.environ.get("STRIPE_API_KEY", ""))
    stripe_api_base: str | None = field(default_factory=lambda: os.environ.get("STRIPE_API_BASE"))
    stripe_webhook_secret: str = field(default_factory=lambda: os.environ.get("STRIPE_WEBHOOK_SECRET", ""))
    public_url: str = field(default_factory=lambda: os.environ.get("VEXXY_PUBLIC_URL", "http://127.0.0.1:8000"))
    evidence_dir: str = field(default_factory=lambda: str(vexxy_settings.evidence_dir()))
    # internal registries (loopback, private, link-local) customers may name; every other internal one is refused
    allowed_registries: frozenset[str] = field(default_factory=allowed_registries_from_env)
    log_format: str = field(default_factory=log_format_from_env)  # text | json: one JSON object per line
