"""Check what a registry holds for an image: which attached OpenVEX attestations verify with a public key.

Everything read from the registry is untrusted: an attestation counts only when its DSSE signature
verifies with the given key, its payload is an in-toto Statement of the OpenVEX predicate type, and
one of its subjects is the image's digest (a valid signature over another image's VEX proves nothing
about this one).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from vexxy.attest import dsse
from vexxy.attest.policy import EvidenceStrength
from vexxy.attest.statement import OPENVEX_PREDICATE_TYPE, subject_digests
from vexxy.oci.attestations import read_attestations
from vexxy.oci.reference import ImageReference
from vexxy.oci.registry_client import RegistryClient

STATEMENT_TYPES = ("https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1")


@dataclass(frozen=True)
class AttachedVex:
    verified: list[dict[str, Any]]  # the in-toto statements that passed every check
    rejected: list[str]  # why each other OpenVEX attestation did not


def check_statement(payload: bytes, digest: str) -> dict[str, Any]:
    """The statement in a verified payload, if it is an OpenVEX statement about `digest`; ValueError otherwise."""
    statement = json.loads(payload)
    if not isinstance(statement, dict) or statement.get("_type") not in STATEMENT_TYPES:
        raise ValueError("the payload is not an in-toto Statement")
    if statement.get("predicateType") != OPENVEX_PREDICATE_TYPE or not isinstance(statement.get("predicate"), dict):
        raise ValueError(f"the predicate is not OpenVEX ({statement.get('predicateType')!r})")
    if digest not in subject_digests(statement):
        raise ValueError(f"its subjects do not name {digest}")
    return statement


def attached_vex(client: RegistryClient, image: ImageReference, public_key: ec.EllipticCurvePublicKey) -> AttachedVex:
    verified, rejected, _ = _checked(client, image, public_key)
    return AttachedVex(verified, rejected)


def attested_evidence(
    client: RegistryClient, image: ImageReference, public_key: ec.EllipticCurvePublicKey
) -> list[EvidenceStrength | None]:
    """What each attached OpenVEX attestation that verifies with `public_key` rests on (None: it does not say).

    Only verified ones count: a layer anyone could push says nothing about what the operator signed."""
    return _checked(client, image, public_key)[2]


def _checked(client: RegistryClient, image: ImageReference, public_key: ec.EllipticCurvePublicKey):
    verified, rejected, strengths = [], [], []
    for index, attestation in enumerate(read_attestations(client, image), start=1):
        if attestation.predicate_type != OPENVEX_PREDICATE_TYPE:
            continue
        try:
            payload = dsse.verify(dsse.Envelope.from_json(attestation.envelope), public_key)
            verified.append(check_statement(payload, image.digest or ""))
            strengths.append(EvidenceStrength.from_annotations(attestation.annotations))
        except dsse.EnvelopeInvalid as exc:
            rejected.append(f"attestation {index}: {exc.message}")
        except (ValueError, TypeError, AttributeError) as exc:
            rejected.append(f"attestation {index}: {exc}")
    return verified, rejected, strengths


def read_back_problems(
    client: RegistryClient, image: ImageReference, public_key: ec.EllipticCurvePublicKey, attached: bytes
) -> list[str]:
    """Why the registry does not now hold exactly the envelope `attached` as `image`'s one OpenVEX ([] when it does).

    An older VEX signed with the same key for the same image verifies too: whoever may push to the
    repository could put it back in place of a newer one, so the statement read back must be the one attached.
    """
    found = attached_vex(client, image, public_key)
    if len(found.verified) != 1 or found.rejected:
        return [f"{image}: {len(found.verified)} verified OpenVEX attestations, expected exactly one", *found.rejected]
    if found.verified[0] != json.loads(dsse.Envelope.from_json(attached).payload):
        return [f"{image}: the OpenVEX attestation read back verifies but is not the one attached (an older one put back?)"]
    return []
