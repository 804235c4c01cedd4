"""API settings, from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from vexxy import settings as vexxy_settings
from vexxy.oci.egress import allowed_registries_from_env


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
