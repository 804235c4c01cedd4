"""The attestation signing key: an ECDSA P-256 private key in PEM, and the public key that verifies it.

Only P-256 is accepted: it is what cosign generates (`cosign generate-key-pair`) and what every DSSE
verifier we target understands, so a key of another kind is refused when loaded, not when verified.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from vexxy.errors import VexxyError

MAX_PEM_BYTES = 64 * 1024


class SigningKeyInvalid(VexxyError):
    """The configured signing key cannot be read or is not an ECDSA P-256 key."""


def load_private_key(pem: bytes, password: bytes | None = None) -> ec.EllipticCurvePrivateKey:
    if len(pem) > MAX_PEM_BYTES:
        raise SigningKeyInvalid(f"The attestation signing key is {len(pem)} bytes; a PEM key is far smaller.")
    try:
        key = serialization.load_pem_private_key(pem, password=password or None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyInvalid(
            f"The attestation signing key is not a readable PEM private key ({exc}).",
            hint="Set VEXXY_ATTESTATION_KEY (or _FILE) to an unencrypted PKCS#8 ECDSA P-256 key, or set its password.",
        ) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise SigningKeyInvalid(
            "The attestation signing key is not an ECDSA P-256 key.",
            hint="Generate one with `openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt`.",
        )
    return key


def load_public_key(pem: bytes) -> ec.EllipticCurvePublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise SigningKeyInvalid(f"Not a PEM public key ({exc}).") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise SigningKeyInvalid("The public key is not an ECDSA P-256 key.")
    return key


def public_key_pem(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> str:
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def fingerprint(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> str:
    """`sha256:<hex>` of the public key's DER SubjectPublicKeyInfo: names the key without showing it."""
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(der).hexdigest()
