import pytest

from vexxy.errors import InvalidReference
from vexxy.oci.reference import parse_reference

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    "text, registry, repository, tag, digest",
    [
        ("alpine", "docker.io", "library/alpine", "latest", None),
        ("team/app:1.2", "docker.io", "team/app", "1.2", None),
        ("127.0.0.1:5000/vexxy/demo:1.0", "127.0.0.1:5000", "vexxy/demo", "1.0", None),
        ("localhost/app", "localhost", "app", "latest", None),
        (f"ghcr.io/org/app@{DIGEST}", "ghcr.io", "org/app", None, DIGEST),
        (f"ghcr.io/org/app:v1@{DIGEST}", "ghcr.io", "org/app", "v1", DIGEST),
        ("registry.example.com:8443/a/b/c:tag_1.0-rc", "registry.example.com:8443", "a/b/c", "tag_1.0-rc", None),
    ],
)
def test_parses_valid_references(text, registry, repository, tag, digest):
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repository, tag, digest)


def test_canonical_form_names_content_not_tag():
    ref = parse_reference("127.0.0.1:5000/vexxy/demo:1.0").with_digest(DIGEST)
    assert ref.canonical() == f"127.0.0.1:5000/vexxy/demo@{DIGEST}"
    assert parse_reference(ref.canonical()).canonical() == ref.canonical()


def test_canonical_without_digest_is_refused():
    with pytest.raises(InvalidReference, match="no digest"):
        parse_reference("alpine:3").canonical()


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("https://registry.example.com/app", "URL scheme"),
        ("Team/App:1", "upper-case"),
        ("app:-bad", "invalid tag"),
        ("app@sha256:1234", "malformed digest"),
        (f"app@sha256:{'AB' * 32}", "64 lowercase hex"),
        ("registry.example.com/", "invalid repository"),
        ("a//b", "invalid repository"),
    ],
)
def test_rejects_malformed_references_with_a_reason(text, message):
    with pytest.raises(InvalidReference, match=message):
        parse_reference(text)
