"""The configuration as it may be stored, shown and hashed: every secret value replaced by a keyed digest.

The values themselves travel only encrypted (`vexxy.config.secret_box`), for as long as the analysis runs.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from vexxy.config.model import AnalysisConfig, ConfigError, parse

SECRET_PLACEHOLDER = "hmac-sha256:"


def public_form(config: AnalysisConfig, digest_secret) -> dict[str, Any]:
    """The configuration with every secret value replaced by `digest_secret(role, name, value)`:
    what may be stored, shown and hashed."""
    body = config.model_dump(mode="json", exclude_none=True)

    def scrub(settings: dict[str, Any], role: str) -> None:
        if settings.get("secret_env"):
            settings["secret_env"] = {name: digest_secret(role, name, value) for name, value in settings["secret_env"].items()}

    scrub(body, "*")
    for role in body.get("roles", []):
        scrub(role, role["name"])
    return body


def config_hash(public: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of the public form (secret values are already digests there)."""
    canonical = json.dumps(public, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def from_public(public: dict[str, Any], secrets: dict[str, dict[str, str]] | None) -> AnalysisConfig:
    """The configuration back from its public form and the decrypted secret values ({role: {name: value}})."""
    body = json.loads(json.dumps(public))
    secrets = secrets or {}

    def fill(settings: dict[str, Any], role: str) -> None:
        if settings.get("secret_env"):
            settings["secret_env"] = {
                name: secrets.get(role, {}).get(name, "") or _missing(role, name) for name in settings["secret_env"]
            }

    fill(body, "*")
    for role in body.get("roles", []):
        fill(role, role["name"])
    return parse(body)


def _missing(role: str, name: str) -> str:
    raise ConfigError(
        f"The secret value of {name} ({'every role' if role == '*' else 'role ' + role}) is no longer available.",
        hint="Secret values are deleted when their analysis ends; submit the analysis again.",
    )


def raw_secret_values(config: AnalysisConfig) -> dict[str, dict[str, str]]:
    """The secret values as written (top level under '*', each role under its name): what is encrypted."""
    values = {"*": dict(config.secret_env)} if config.secret_env else {}
    for role in config.roles:
        if role.secret_env:
            values[role.name] = dict(role.secret_env)
    return values
