"""DSSE v1 envelopes: the pre-authentication encoding, signing and verification.

The signature covers PAE(payloadType, payload), never the JSON around it, so a verifier needs no
canonical JSON; ECDSA P-256 signatures are DER over SHA-256, which is what cosign and other DSSE
implementations produce and accept.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from vexxy.errors import VexxyError

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
MAX_ENVELOPE_BYTES = 16 * 1024 * 1024  # far above any VEX we write; refuses a registry's giant layer
_SIGNATURE = ec.ECDSA(hashes.SHA256())


class EnvelopeInvalid(VexxyError):
    """A DSSE envelope is malformed or no signature in it verifies with the given key."""


def pae(payload_type: str, payload: bytes) -> bytes:
    """`DSSEv1 SP LEN(type) SP type SP LEN(body) SP body`, lengths as ASCII decimal byte counts."""
    encoded_type = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(encoded_type), encoded_type, len(payload), payload)


@dataclass(frozen=True)
class Envelope:
    payload_type: str
    payload: bytes
    signatures: tuple[tuple[str, bytes], ...]  # (keyid, DER signature)

    def to_dict(self) -> dict[str, Any]:
        return {
            "payloadType": self.payload_type,
            "payload": base64.b64encode(self.payload).decode(),
            "signatures": [{"keyid": keyid, "sig": base64.b64encode(sig).decode()} for keyid, sig in self.signatures],
        }

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Envelope:
        if len(data) > MAX_ENVELOPE_BYTES:
            raise EnvelopeInvalid(f"The DSSE envelope is {len(data)} bytes, more than {MAX_ENVELOPE_BYTES}.")
        try:
            document = json.loads(data)
            payload_type = document["payloadType"]
            payload = base64.b64decode(document["payload"], validate=True)
            signatures = tuple(
                (str(entry.get("keyid") or ""), base64.b64decode(entry["sig"], validate=True)) for entry in document["signatures"]
            )
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
            raise EnvelopeInvalid(f"The DSSE envelope is malformed: {exc.__class__.__name__}: {exc}.") from exc
        if not isinstance(payload_type, str) or not signatures:
            raise EnvelopeInvalid("The DSSE envelope has no payload type or no signature.")
        return cls(payload_type, payload, signatures)


def sign(payload: bytes, private_key: ec.EllipticCurvePrivateKey, payload_type: str = IN_TOTO_PAYLOAD_TYPE) -> Envelope:
    """One signature over PAE(payload_type, payload); the keyid is left empty, as cosign writes it."""
    return Envelope(payload_type, payload, (("", private_key.sign(pae(payload_type, payload), _SIGNATURE)),))


def verify(envelope: Envelope, public_key: ec.EllipticCurvePublicKey, payload_type: str = IN_TOTO_PAYLOAD_TYPE) -> bytes:
    """The payload, once one signature verifies with `public_key` over its PAE; raises EnvelopeInvalid otherwise."""
    if envelope.payload_type != payload_type:
        raise EnvelopeInvalid(f"The DSSE payload type is {envelope.payload_type!r}, not {payload_type!r}.")
    message = pae(envelope.payload_type, envelope.payload)
    for _, signature in envelope.signatures:
        try:
            public_key.verify(signature, message, _SIGNATURE)
        except InvalidSignature:
            continue
        return envelope.payload
    raise EnvelopeInvalid("No signature of the DSSE envelope verifies with the given public key.")
