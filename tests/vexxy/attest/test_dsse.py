"""DSSE: the pre-authentication encoding, signing, and verification checked by an independent verifier."""

import base64
import json

import pytest
from attestation_keys import new_key, reference_verify, tampered
from securesystemslib.exceptions import VerificationError

from vexxy.attest import dsse
from vexxy.attest.statement import OPENVEX_PREDICATE_TYPE, serialize, subject_digests, vex_statement

DIGEST = "sha256:" + "ab" * 32
OPENVEX = {"@context": "https://openvex.dev/ns/v0.2.0", "@id": "urn:test", "statements": [{"status": "not_affected"}]}


def test_pae_is_the_specs_encoding():
    # The example of the DSSE protocol document.
    assert dsse.pae("http://example.com/HelloWorld", b"hello world") == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    assert dsse.pae("", b"") == b"DSSEv1 0  0 "
    # Lengths count bytes, not characters; the body is taken as it is (spaces and digits included).
    assert dsse.pae("typé", "ü 1".encode()) == b"DSSEv1 5 typ\xc3\xa9 4 \xc3\xbc 1"


def test_signed_statement_verifies_here_and_with_an_independent_verifier():
    key = new_key()
    payload = serialize(vex_statement("registry.example.com/team/app", DIGEST, OPENVEX))
    envelope = dsse.sign(payload, key)
    document = json.loads(envelope.to_json())
    assert document["payloadType"] == "application/vnd.in-toto+json"
    assert base64.b64decode(document["payload"]) == payload and document["signatures"][0]["keyid"] == ""
    assert dsse.verify(dsse.Envelope.from_json(envelope.to_json()), key.public_key()) == payload
    statement = reference_verify(envelope.to_json(), key.public_key())
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == OPENVEX_PREDICATE_TYPE == "https://openvex.dev/ns"
    assert statement["subject"] == [{"name": "registry.example.com/team/app", "digest": {"sha256": "ab" * 32}}]
    assert statement["predicate"] == OPENVEX and subject_digests(statement) == {DIGEST}


def test_another_key_a_changed_payload_or_a_changed_type_fail_both_verifiers():
    key, other = new_key(), new_key()
    envelope = dsse.sign(serialize(vex_statement("r.example/app", DIGEST, OPENVEX)), key).to_json()
    changed_statement = vex_statement("r.example/app", DIGEST, {**OPENVEX, "statements": [{"status": "affected"}]})
    forged = [
        tampered(envelope, payload=serialize(changed_statement)),
        tampered(envelope, payloadType="application/json"),
    ]
    with pytest.raises(dsse.EnvelopeInvalid, match="No signature"):
        dsse.verify(dsse.Envelope.from_json(envelope), other.public_key())
    with pytest.raises(VerificationError):
        reference_verify(envelope, other.public_key())
    for bad in forged:
        with pytest.raises(dsse.EnvelopeInvalid):
            dsse.verify(dsse.Envelope.from_json(bad), key.public_key())
        with pytest.raises((VerificationError, AssertionError)):
            reference_verify(bad, key.public_key())
    # A signature moved to the same payload under another type does not verify either: PAE binds the type.
    retyped = dsse.Envelope(
        "application/json", dsse.Envelope.from_json(envelope).payload, dsse.Envelope.from_json(envelope).signatures
    )
    with pytest.raises(dsse.EnvelopeInvalid, match="No signature"):
        dsse.verify(retyped, key.public_key(), payload_type="application/json")


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"[]",
        b'{"payloadType": "application/vnd.in-toto+json", "payload": "e30=", "signatures": []}',
        b'{"payloadType": "application/vnd.in-toto+json", "payload": "e30=", "signatures": [{"sig": "***"}]}',
        b'{"payloadType": "application/vnd.in-toto+json", "payload": "%%%", "signatures": [{"sig": "AA=="}]}',
        b'{"payloadType": 7, "payload": "e30=", "signatures": [{"sig": "AA=="}]}',
        b'{"payload": "e30=", "signatures": [{"sig": "AA=="}]}',
        b" " * (dsse.MAX_ENVELOPE_BYTES + 1),
    ],
)
def test_malformed_envelopes_are_refused_with_a_reason(data):
    with pytest.raises(dsse.EnvelopeInvalid):
        dsse.Envelope.from_json(data)


def test_statement_refuses_anything_but_a_sha256_digest():
    for digest in ("sha256:abc", "sha512:" + "a" * 128, "latest", "sha256:" + "AB" * 32):
        with pytest.raises(ValueError):
            vex_statement("r.example/app", digest, OPENVEX)
