"""Digests an image hands us are checked before any of them becomes part of a host path or a cache key."""

from __future__ import annotations

import re

from vexxy.errors import VexxyError

_SHA256 = re.compile(r"sha256:[0-9a-f]{64}")


class ImageIntegrityError(VexxyError):
    """The image's content does not match what its manifest or config says it is."""


def checked_digest(value: object, what: str, image: str) -> str:
    """`value` if it is exactly `sha256:<64 lowercase hex>`, else a clear refusal naming the image."""
    if isinstance(value, str) and _SHA256.fullmatch(value):
        return value
    raise ImageIntegrityError(
        f"Image {image}: {what} {str(value)[:200]!r} is not a sha256 digest (sha256:<64 hex>); the image is refused.",
        hint="The image's manifest or config is malformed or forged; rebuild and push it with a standard tool.",
    )


def digest_hex(value: str) -> str:
    """The hex part of an already checked digest (the only form used in cache paths)."""
    if not _SHA256.fullmatch(value):
        raise ValueError(f"not a checked sha256 digest: {value!r}")
    return value.removeprefix("sha256:")
