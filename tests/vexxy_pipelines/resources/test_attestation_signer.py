"""The signing key file is read bounded: a path that names a device or a huge file is refused, not slurped."""

import pytest
from attestation_keys import new_key, private_pem

from vexxy.attest.keys import SigningKeyInvalid
from vexxy_pipelines.resources.attestation import AttestationSignerResource


def test_a_key_file_loads_and_a_device_or_oversized_file_is_refused(tmp_path):
    key_file = tmp_path / "attestation.key"
    key_file.write_text(private_pem(key := new_key()))
    loaded = AttestationSignerResource(signing_key_file=str(key_file)).private_key()
    assert loaded.private_numbers() == key.private_numbers()
    big = tmp_path / "big.pem"
    big.write_bytes(b"-" * 70_000)
    for path in ("/dev/zero", str(big)):  # /dev/zero reports a size of 0 and never ends
        with pytest.raises(SigningKeyInvalid, match="larger than a PEM key can be"):
            AttestationSignerResource(signing_key_file=path).private_key()
    with pytest.raises(SigningKeyInvalid, match="cannot be read"):
        AttestationSignerResource(signing_key_file=str(tmp_path)).private_key()
