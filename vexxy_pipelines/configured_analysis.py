"""The sandbox step's view of an analysis configuration: its public form from the run config, its secret
values decrypted from the application database (never from run config or tags), checked against the
digests in the public form, and one launch per role."""

from __future__ import annotations

import json
from dataclasses import dataclass

from submissions.secrets import secrets_of
from vexxy.config.launches import launch_of
from vexxy.config.model import ConfigError, parse
from vexxy.config.public_form import config_hash, from_public, public_form
from vexxy.config.secret_box import SecretBox, seal_config
from vexxy.sandbox.launch import Launch


@dataclass(frozen=True)
class ConfiguredAnalysis:
    public: dict
    hash: str
    launches: list[Launch]
    secret_values: tuple[str, ...]  # to redact from everything the run reports


def _has_secrets(public: dict) -> bool:
    return bool(public.get("secret_env")) or any(role.get("secret_env") for role in public.get("roles", []))


def configured_analysis(text: str, secrets_owner: str | None, app_db) -> ConfiguredAnalysis | None:
    """None for the default configuration (the image as it says to run)."""
    if not text:
        return None
    try:
        given = json.loads(text)
    except json.JSONDecodeError:
        raise ConfigError("The run's analysis configuration is not JSON.") from None
    public = public_form(parse(given), lambda role, name, digest: digest)  # normalized, as the API stores it
    values, box = None, None
    if _has_secrets(public):
        if not secrets_owner:
            raise ConfigError(
                "The analysis configuration has secret values, but the run does not say whose they are.",
                hint="Submit the analysis through the API or `vexxy analyze`, which store them encrypted.",
            )
        with app_db.sessions()() as session:
            token = secrets_of(session, secrets_owner)
        if token is None:
            raise ConfigError(
                "The analysis's secret values are no longer stored (they are deleted when the analysis ends).",
                hint="Submit the analysis again.",
            )
        box = SecretBox.from_env()
        values = box.open(token)
    config = from_public(public, values)
    if box is not None and seal_config(config, box).public != public:
        raise ConfigError(
            "The stored secret values do not match the analysis configuration's digests.",
            hint="Submit the analysis again (the encryption key may have changed since it was submitted).",
        )
    launches = [launch_of(role) for role in config.effective_roles()]
    secrets = tuple(sorted({value for launch in launches for value in launch.secret_values}))
    return ConfiguredAnalysis(public, config_hash(public), launches, secrets)
