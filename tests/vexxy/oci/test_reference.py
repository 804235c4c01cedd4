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


@pytest.mark.parametrize(
    "text, message, hint",
    [
        ("", "The image reference is empty.", "Pass something like registry.example.com/team/app:1.2."),
        (
            "http://r.example/app",
            "Image reference 'http://r.example/app' is malformed: it contains whitespace or a URL scheme.",
            "Write it as registry/repository:tag or registry/repository@sha256:<digest>, without http(s)://.",
        ),
        (
            "app@md5:12",
            "Image reference 'app@md5:12' has a malformed digest 'md5:12'.",
            "A digest looks like sha256: followed by 64 lowercase hex characters.",
        ),
        (
            f"app@sha256:{'a' * 65}",
            "Image reference 'app@sha256:" + "a" * 65 + "' has a sha256 digest that is not 64 lowercase hex characters.",
            "Copy the digest exactly as the registry prints it.",
        ),
        (
            "app:.x",
            "Image reference 'app:.x' has an invalid tag '.x'.",
            "Tags are up to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'.",
        ),
        ("bad_host.example/app", "Image reference 'bad_host.example/app' has an invalid registry host 'bad_host.example'.", None),
        (f"@{DIGEST}", f"Image reference '@{DIGEST}' names no repository.", None),
        (
            "r.example/Team/app",
            "Image reference 'r.example/Team/app' has upper-case letters in the repository 'Team/app'.",
            "Repository names are lower case: try 'team/app'.",
        ),
        (
            "r.example/team/-app",
            "Image reference 'r.example/team/-app' has an invalid repository name 'team/-app'.",
            "Repository path components are lower-case letters and digits separated by '.', '_', '__' or '-'.",
        ),
    ],
)
def test_each_refusal_says_exactly_what_is_wrong_and_what_to_do(text, message, hint):
    with pytest.raises(InvalidReference) as error:
        parse_reference(text)
    assert (error.value.message, error.value.hint) == (message, hint)


@pytest.mark.parametrize(
    "text, parsed, shown",
    [
        (" r.example/a/b:1 ", ("r.example", "a/b", "1", None), "r.example/a/b:1"),
        ("[::1]:5000/app", ("[::1]:5000", "app", "latest", None), "[::1]:5000/app:latest"),
        ("localhost:5000/app", ("localhost:5000", "app", "latest", None), "localhost:5000/app:latest"),
        ("team/app", ("docker.io", "team/app", "latest", None), "docker.io/team/app:latest"),
        (f"app@{DIGEST}", ("docker.io", "library/app", None, DIGEST), f"docker.io/library/app@{DIGEST}"),
        (f"r.example/app@blake3:{'a' * 64}", ("r.example", "app", None, f"blake3:{'a' * 64}"), None),
        ("r.example/a__b/c-d/e.f", ("r.example", "a__b/c-d/e.f", "latest", None), None),
        (f"r.example/app:{'t' * 128}", ("r.example", "app", "t" * 128, None), None),
    ],
)
def test_edges_of_the_grammar(text, parsed, shown):
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == parsed
    if shown:
        assert str(ref) == shown
    assert ref.selector == (ref.digest or ref.tag)


def test_a_tag_too_long_is_refused():
    with pytest.raises(InvalidReference, match="invalid tag"):
        parse_reference(f"r.example/app:{'t' * 129}")


def test_only_the_first_at_sign_separates_the_digest():
    with pytest.raises(InvalidReference, match="malformed digest 'x@sha256:"):
        parse_reference(f"r.example/app@x@{DIGEST}")


def test_a_colon_before_the_last_slash_is_not_a_tag():
    with pytest.raises(InvalidReference, match="invalid repository name 'a:b/c'"):
        parse_reference("r.example/a:b/c")
