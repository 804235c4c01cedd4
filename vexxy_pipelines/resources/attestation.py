"""The attestation signer: the operator's ECDSA P-256 key, from the environment, or none at all.

No key is the embedded default: `vex_attestation` then says it was skipped and why. The key is
never shown; the public key and its fingerprint are what the asset's metadata publishes.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from dagster import ConfigurableResource
from pydantic import Field

from vexxy.attest.keys import MAX_PEM_BYTES, SigningKeyInvalid, load_private_key


class AttestationSignerResource(ConfigurableResource):
    signing_key: str | None = Field(default=None, description="PEM ECDSA P-256 private key (VEXXY_ATTESTATION_KEY).")
    signing_key_file: str | None = Field(
        default=None, description="File holding the PEM private key (VEXXY_ATTESTATION_KEY_FILE), e.g. a mounted secret."
    )
    signing_key_password: str | None = Field(
        default=None, description="Password of an encrypted PEM key (VEXXY_ATTESTATION_KEY_PASSWORD)."
    )

    @property
    def configured(self) -> bool:
        return bool(self.signing_key or self.signing_key_file)

    def private_key(self) -> ec.EllipticCurvePrivateKey:
        if self.signing_key:
            pem = self.signing_key.encode()
        elif self.signing_key_file:
            path = Path(self.signing_key_file)
            try:
                with path.open("rb") as file:  # read bounded: a device or a growing file has no honest size
                    pem = file.read(MAX_PEM_BYTES + 1)
                if len(pem) > MAX_PEM_BYTES:
                    raise SigningKeyInvalid(f"The attestation signing key file {path} is larger than a PEM key can be.")
            except OSError as exc:
                raise SigningKeyInvalid(
                    f"The attestation signing key file {path} cannot be read ({exc.strerror}).",
                    hint="Check VEXXY_ATTESTATION_KEY_FILE and the file's permissions.",
                ) from exc
        else:
            raise SigningKeyInvalid("No attestation signing key is configured.")
        password = self.signing_key_password.encode() if self.signing_key_password else None
        return load_private_key(pem, password)
