"""Only an OpenVEX in-toto statement about the image's own digest counts, whatever its signature."""

import json

import pytest

from vexxy.attest.statement import serialize, vex_statement
from vexxy.attest.verify import check_statement

DIGEST, OTHER = "sha256:" + "ab" * 32, "sha256:" + "cd" * 32
OPENVEX = {"@context": "https://openvex.dev/ns/v0.2.0", "statements": []}


def test_a_statement_about_this_digest_passes():
    statement = vex_statement("r.example/app", DIGEST, OPENVEX)
    assert check_statement(serialize(statement), DIGEST) == statement
    legacy = {**statement, "_type": "https://in-toto.io/Statement/v0.1"}  # what older cosign wrote
    assert check_statement(json.dumps(legacy).encode(), DIGEST) == legacy


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"_type": "https://example.com/other"}, "not an in-toto Statement"),
        ({"predicateType": "https://openvex.dev/ns/v0.2.0"}, "not OpenVEX"),
        ({"predicateType": "https://slsa.dev/provenance/v1"}, "not OpenVEX"),
        ({"predicate": "a string"}, "not OpenVEX"),
        ({"subject": [{"name": "r.example/app", "digest": {"sha256": OTHER.split(":")[1]}}]}, "do not name"),
        ({"subject": [{"name": "r.example/app"}]}, "do not name"),
        ({"subject": "r.example/app"}, "do not name"),
    ],
)
def test_anything_else_is_refused_with_the_reason(change, reason):
    statement = {**vex_statement("r.example/app", DIGEST, OPENVEX), **change}
    with pytest.raises(ValueError, match=reason):
        check_statement(json.dumps(statement).encode(), DIGEST)


def test_a_payload_that_is_not_an_object_is_refused():
    for payload in (b"[]", b'"text"', b"null"):
        with pytest.raises(ValueError):
            check_statement(payload, DIGEST)
