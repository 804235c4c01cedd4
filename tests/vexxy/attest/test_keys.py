"""The signing key: only ECDSA P-256 PEM keys load; the public key and its fingerprint are what is shown."""

import hashlib

import pytest
from attestation_keys import new_key, private_pem
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from vexxy.attest.keys import SigningKeyInvalid, fingerprint, load_private_key, load_public_key, public_key_pem


def test_p256_keys_load_plain_or_with_their_password():
    key = new_key()
    assert load_private_key(private_pem(key).encode()).private_numbers() == key.private_numbers()
    encrypted = private_pem(key, password=b"pw").encode()
    assert load_private_key(encrypted, b"pw").private_numbers() == key.private_numbers()
    with pytest.raises(SigningKeyInvalid):
        load_private_key(encrypted, b"wrong")
    with pytest.raises(SigningKeyInvalid):
        load_private_key(encrypted)


@pytest.mark.parametrize(
    "other",
    [
        lambda: ec.generate_private_key(ec.SECP384R1()),
        lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
        lambda: ed25519.Ed25519PrivateKey.generate(),
    ],
)
def test_other_kinds_of_keys_are_refused_when_loaded(other):
    with pytest.raises(SigningKeyInvalid, match="not an ECDSA P-256 key"):
        load_private_key(private_pem(other()).encode())
    with pytest.raises(SigningKeyInvalid, match="not an ECDSA P-256 key"):
        load_public_key(public_key_pem_of(other()).encode())


def public_key_pem_of(key) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def test_garbage_and_oversized_input_is_refused():
    for data in (b"", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", b"x" * 70_000):
        with pytest.raises(SigningKeyInvalid):
            load_private_key(data)


def test_public_key_and_fingerprint():
    key = new_key()
    pem = public_key_pem(key)
    assert pem.startswith("-----BEGIN PUBLIC KEY-----") and load_public_key(pem.encode()).public_numbers() == (
        key.public_key().public_numbers()
    )
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert fingerprint(key) == fingerprint(key.public_key()) == "sha256:" + hashlib.sha256(der).hexdigest()
    assert fingerprint(new_key()) != fingerprint(key)
