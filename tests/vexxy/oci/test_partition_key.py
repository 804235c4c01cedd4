"""Readable partition keys: the repository's name stays visible, the key stays short and names a digest prefix."""

import pytest

from vexxy.errors import InvalidReference
from vexxy.oci.partition_key import (
    MAX_KEY_LENGTH,
    candidate_keys,
    default_key,
    is_short_key,
    legacy_reference,
    shortened_name,
)
from vexxy.oci.reference import ImageReference, parse_reference

DIGEST = "sha256:" + "c507417c4f05d2a9" + "5" * 48


def test_the_repository_and_16_hex_fit_the_uis_partition_list():
    key = default_key(parse_reference(f"127.0.0.1:5077/team/evidence-app@{DIGEST}"))
    assert key == "team/evidence-app@c507417c4f05d2a9" and len(key) <= 41
    assert is_short_key(key) and legacy_reference(key) is None


def test_longer_digest_prefixes_then_the_registry_when_a_key_is_taken():
    keys = list(candidate_keys(parse_reference(f"127.0.0.1:5077/vexxy/demo@{DIGEST}")))
    assert keys[:2] == ["vexxy/demo@c507417c4f05d2a9", "vexxy/demo@c507417c4f05d2a95555"]
    assert keys[5] == "127.0.0.1:5077/vexxy/demo@c507417c4f05d2a9"
    assert [len(k.split("@")[1]) for k in keys] == [16, 20, 24, 28, 32] * 2
    assert len(set(keys)) == 10 and all(is_short_key(k) and len(k) <= MAX_KEY_LENGTH for k in keys)


def test_long_names_lose_leading_namespaces_never_the_last_segment():
    ref = parse_reference(f"registry.example.com:5000/platform-team/payments/settlement-batch-worker@{DIGEST}")
    keys = list(candidate_keys(ref))
    assert keys[0] == "settlement-batch-worker@c507417c4f05d2a9"
    assert "payments/settlement-batch-worker@c507417c4f05d2a9" in keys
    assert all(len(k) <= MAX_KEY_LENGTH and "settlement-batch-worker@" in k for k in keys)


def test_a_huge_last_segment_is_cut_to_fit():
    name = "a" + "b" * 200
    key = default_key(ImageReference("r.io", f"ns/{name}", None, DIGEST))
    assert key.startswith("abbb") and key.endswith("@c507417c4f05d2a9") and len(key) <= 41
    assert all(len(k) <= MAX_KEY_LENGTH for k in candidate_keys(ImageReference("r.io", f"ns/{name}", None, DIGEST)))


def test_characters_the_ui_cannot_range_over_are_dropped():
    keys = list(candidate_keys(ImageReference("[::1]:5000", "team/app", None, DIGEST)))
    assert "::1:5000/team/app@c507417c4f05d2a9" in keys and not any("[" in k or "]" in k for k in keys)
    assert shortened_name("[::1]:5000", "team/app", 43) == "::1:5000/team/app"


def test_a_reference_without_content_gets_no_key():
    with pytest.raises(InvalidReference, match="does not name image content"):
        default_key(parse_reference("r.io/team/app:1.0"))
    with pytest.raises(InvalidReference):
        default_key(ImageReference("r.io", "team/app", None, "sha512:" + "a" * 128))


@pytest.mark.parametrize(
    "key",
    [
        "r.io/team/app:1.0",  # a tag names no content
        "r.io/team/app",
        "app@c507417c4f05d2a",  # 15 hex
        "app@C507417C4F05D2A9",  # upper case
        "app@c507417c4f05d2a9c507417c4f05d2a9c",  # 33 hex
        "a/.../b@c507417c4f05d2a9",  # Dagster refuses ...
        "x" * 50 + "@c507417c4f05d2a9",  # too long
        "app@c507417c4f05d2a9\n",
        "app,b@c507417c4f05d2a9",
    ],
)
def test_what_is_not_a_short_key(key):
    assert not is_short_key(key)


def test_full_digest_keys_still_name_content():
    ref = legacy_reference(f"127.0.0.1:5077/evidence-app@{DIGEST}")
    assert ref == ImageReference("127.0.0.1:5077", "evidence-app", None, DIGEST)
    assert legacy_reference(f"127.0.0.1:5077/evidence-app:1.0@{DIGEST}") is None  # a tag in a key: not the key form
    assert legacy_reference("127.0.0.1:5077/evidence-app@sha256:abc") is None
    assert legacy_reference(f"127.0.0.1:5077/evidence-app@{DIGEST.upper()}") is None
