"""Test signing keys and an independent DSSE verifier (securesystemslib, from the DSSE spec's authors)."""

from __future__ import annotations

import base64
import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from securesystemslib.dsse import Envelope as ReferenceEnvelope
from securesystemslib.signer import SSlibKey


def new_key(curve: ec.EllipticCurve | None = None) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(curve or ec.SECP256R1())


def private_pem(key, password: bytes | None = None) -> str:
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption).decode()


def reference_verify(envelope_json: bytes, public_key) -> dict:
    """Verify a DSSE envelope with securesystemslib alone and return the decoded in-toto statement.

    Raises securesystemslib's VerificationError when no signature verifies with `public_key`.
    """
    document = json.loads(envelope_json)
    keyids = {entry.get("keyid", "") for entry in document["signatures"]}
    key = SSlibKey.from_crypto(public_key, scheme="ecdsa-sha2-nistp256")
    keys = [SSlibKey(keyid, key.keytype, key.scheme, key.keyval) for keyid in keyids]  # the keyid as signed (cosign: "")
    envelope = ReferenceEnvelope.from_dict(document)
    envelope.verify(keys, 1)
    assert envelope.payload_type == "application/vnd.in-toto+json"
    return json.loads(envelope.payload)


def tampered(envelope_json: bytes, **changes) -> bytes:
    """The envelope with fields replaced (`payload` given as raw bytes is base64-encoded)."""
    document = json.loads(envelope_json)
    for field, value in changes.items():
        document[field] = base64.b64encode(value).decode() if isinstance(value, bytes) else value
    return json.dumps(document).encode()
