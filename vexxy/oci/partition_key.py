"""Partition keys people can read: `repository@<digest prefix>`, at most 60 characters.

The Dagster UI's partition list shows about 37 characters and cuts longer keys in the middle, which
is where a full digest key (`registry/repository@sha256:<64 hex>`) keeps the repository name. A key
here is the repository's path (leading namespaces dropped past 24 characters, its last segment
always kept), `@`, and the first 16 hex characters of the manifest digest: `vexxy/demo@1c9004772fdf71f0`.
A key alone never names content: the image (registry, repository, full digest) is recorded beside
it when the partition is added, and a key already standing for another image is not reused: longer
digest prefixes are tried, then the same with the registry in front.
Keys of the earlier form (`registry/repository@sha256:<64 hex>`) still name content by themselves.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from vexxy.errors import InvalidReference
from vexxy.oci.reference import SHA256_DIGEST_RE, ImageReference, parse_reference

MAX_KEY_LENGTH = 60
PREFIX_LENGTHS = (16, 20, 24, 28, 32)  # hex characters of the digest; 16 = 64 bits
VISIBLE_NAME_LENGTH = 24  # with `@` and 16 hex: what the UI's partition list shows whole
SHORT_KEY_RE = re.compile(r"^[A-Za-z0-9._:/-]{1,43}@[0-9a-f]{16,32}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._:/-]")  # `[` `]` (IPv6 registries) break the UI's partition ranges


class KeyCollision(InvalidReference):
    """Every readable key for an image already stands for another image."""


def is_short_key(key: str) -> bool:
    return bool(SHORT_KEY_RE.fullmatch(key)) and len(key) <= MAX_KEY_LENGTH and "..." not in key


def legacy_reference(key: str) -> ImageReference | None:
    """The image a full-digest key (`registry/repository@sha256:<64 hex>`) names, else None."""
    if "@sha256:" not in key:
        return None
    try:
        ref = parse_reference(key)
    except InvalidReference:
        return None
    if ref.tag or not ref.digest or not SHA256_DIGEST_RE.match(ref.digest) or ref.canonical() != key:
        return None
    return ImageReference(ref.registry, ref.repository, None, ref.digest)


def shortened_name(registry: str, repository: str, budget: int) -> str:
    """`registry/repository`, or as much of it from the end as fits `budget` characters, whole path segments first."""
    full = _UNSAFE.sub("", f"{registry}/{repository}")
    if len(full) <= budget:
        return full
    return _last_segments(repository, budget)


def _last_segments(repository: str, budget: int) -> str:
    segments = repository.split("/")
    for start in range(len(segments)):
        candidate = "/".join(segments[start:])
        if len(candidate) <= budget:
            return candidate
    return segments[-1][:budget].rstrip("._-") or segments[-1][:budget]


def candidate_keys(ref: ImageReference) -> Iterator[str]:
    """Readable keys for the content `ref` names, in order of preference: the repository with 16, 20, ... 32 hex,
    then the registry and repository with as many."""
    if not ref.digest or not SHA256_DIGEST_RE.match(ref.digest):
        raise InvalidReference(f"{ref} does not name image content (no sha256 digest).", hint="Resolve the reference first.")
    hex_digest = ref.digest.split(":", 1)[1]
    seen = set()
    for with_registry in (False, True):
        for length in PREFIX_LENGTHS:
            budget = MAX_KEY_LENGTH - 1 - length
            if with_registry:
                name = shortened_name(ref.registry, ref.repository, budget)
            else:
                name = _last_segments(ref.repository, min(budget, VISIBLE_NAME_LENGTH))
            key = f"{name}@{hex_digest[:length]}"
            if key not in seen:
                seen.add(key)
                yield key


def default_key(ref: ImageReference) -> str:
    """The key an image gets when no other image holds it (the usual case)."""
    return next(candidate_keys(ref))


def not_content_message(key: str) -> InvalidReference:
    return InvalidReference(
        f"Partition key {key!r} does not name image content: it is neither a key vexxy added for a resolved image "
        "nor registry/repository@sha256:<64 hex>.",
        hint="Launch the `analyze_reference` job from the Launchpad (or run `vexxy analyze REF`) with the reference; "
        "remove this partition with the `remove_image_partition` job or `vexxy partitions remove KEY`.",
    )
