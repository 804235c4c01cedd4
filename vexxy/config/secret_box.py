"""Secret environment values at rest: Fernet-encrypted with the operator's key, digested with a key derived from it.

`VEXXY_SECRETS_KEY` holds one or more Fernet keys, comma-separated (the first encrypts, every one
decrypts, so a key can be rotated). Without a key, secret values are refused: they are never
stored in clear. The digest standing in for a value in a configuration's public form is an
HMAC-SHA256 under a key derived from the first Fernet key, so equal secrets give equal
configuration hashes without the hash revealing a guessable value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from vexxy import settings
from vexxy.config.model import AnalysisConfig, ConfigError
from vexxy.config.public_form import SECRET_PLACEHOLDER, config_hash, public_form, raw_secret_values

ENV = "VEXXY_SECRETS_KEY"
GENERATE = 'python3 -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'


class SecretBox:
    def __init__(self, keys: str):
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise ConfigError(f"{ENV} is empty.", hint=f"Generate a key with {GENERATE}.")
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in parts])
        except (ValueError, TypeError):
            raise ConfigError(
                f"{ENV} is not a list of Fernet keys (32 url-safe base64-encoded bytes each).",
                hint=f"Generate a key with {GENERATE}.",
            ) from None
        raw = base64.urlsafe_b64decode(parts[0].encode())
        self._digest_key = hashlib.sha256(b"vexxy analysis-config secret digest\x00" + raw).digest()

    @classmethod
    def from_env(cls, required: bool = True) -> SecretBox | None:
        keys = settings.secrets_keys()
        if not keys.strip():
            if required:
                raise ConfigError(
                    "Secret environment values need an encryption key, and none is configured.",
                    hint=f"The operator sets {ENV} (generate one with {GENERATE}); or pass the value as a plain env.",
                )
            return None
        return cls(keys)

    def digest(self, role: str, name: str, value: str) -> str:
        message = json.dumps([role, name, value]).encode()
        return SECRET_PLACEHOLDER + hmac.new(self._digest_key, message, hashlib.sha256).hexdigest()

    def seal(self, values: dict[str, dict[str, str]]) -> bytes:
        return self._fernet.encrypt(json.dumps(values, sort_keys=True).encode())

    def open(self, token: bytes) -> dict[str, dict[str, str]]:
        try:
            return json.loads(self._fernet.decrypt(bytes(token)))
        except InvalidToken:
            raise ConfigError(
                "The analysis's secret values cannot be decrypted with the configured key.",
                hint=f"{ENV} must list the key they were encrypted with (keep the old key after a rotation).",
            ) from None


@dataclass(frozen=True)
class Sealed:
    """A configuration ready to store: its public form, that form's hash, and the encrypted secret values (or None)."""

    public: dict[str, Any]
    hash: str
    secrets: bytes | None


def seal_config(config: AnalysisConfig, box: SecretBox | None = None) -> Sealed:
    """Split `config` for storage; secret values need a key (`box`, else VEXXY_SECRETS_KEY)."""
    values = raw_secret_values(config)
    if not values:
        public = public_form(config, _no_secrets)
        return Sealed(public, config_hash(public), None)
    box = box or SecretBox.from_env()
    public = public_form(config, box.digest)
    return Sealed(public, config_hash(public), box.seal(values))


def _no_secrets(role: str, name: str, value: str) -> str:
    raise AssertionError("a configuration without secret values has nothing to digest")
