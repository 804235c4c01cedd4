"""Image references, parsed the way the OCI distribution reference grammar defines them.

A reference names a registry, a repository and a tag and/or digest. The canonical form used for
partition keys is `registry/repository@sha256:<hex>`: it names content, never a mutable tag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from vexxy.errors import InvalidReference

DEFAULT_REGISTRY = "docker.io"
DEFAULT_TAG = "latest"

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|-+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

_PATH_RE = re.compile(rf"^{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*$")
_DOMAIN_RE = re.compile(rf"^{_DOMAIN}$")
_TAG_RE = re.compile(rf"^{_TAG}$")
_DIGEST_RE = re.compile(rf"^{_DIGEST}$")
SHA256_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class ImageReference:
    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """`registry/repository`, the image's name without tag or digest."""
        return f"{self.registry}/{self.repository}"

    def with_digest(self, digest: str) -> ImageReference:
        return replace(self, digest=digest)

    def canonical(self) -> str:
        """The content-addressed form `registry/repository@sha256:...` (requires a digest)."""
        if not self.digest:
            raise InvalidReference(f"Reference {self} has no digest yet; resolve it first.")
        return f"{self.name}@{self.digest}"

    @property
    def selector(self) -> str:
        """What to ask the registry's manifest endpoint for: the digest when known, else the tag."""
        return self.digest or self.tag or DEFAULT_TAG

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_reference(text: str) -> ImageReference:
    """Parse `[registry/]repository[:tag][@digest]`; a bare name means Docker Hub and `latest`."""
    raw = text
    text = (text or "").strip()
    if not text:
        raise InvalidReference("The image reference is empty.", hint="Pass something like registry.example.com/team/app:1.2.")
    if any(ch.isspace() for ch in text) or "://" in text:
        raise InvalidReference(
            f"Image reference {raw!r} is malformed: it contains whitespace or a URL scheme.",
            hint="Write it as registry/repository:tag or registry/repository@sha256:<digest>, without http(s)://.",
        )

    digest = None
    if "@" in text:
        text, digest = text.split("@", 1)
        if not _DIGEST_RE.match(digest):
            raise InvalidReference(
                f"Image reference {raw!r} has a malformed digest {digest!r}.",
                hint="A digest looks like sha256: followed by 64 lowercase hex characters.",
            )
        algorithm, _, encoded = digest.partition(":")
        if algorithm == "sha256" and not SHA256_DIGEST_RE.match(digest):
            raise InvalidReference(
                f"Image reference {raw!r} has a sha256 digest that is not 64 lowercase hex characters.",
                hint="Copy the digest exactly as the registry prints it.",
            )

    tag = None
    last_slash = text.rfind("/")
    last_colon = text.rfind(":")
    if last_colon > last_slash:
        text, tag = text[:last_colon], text[last_colon + 1 :]
        if not _TAG_RE.match(tag):
            raise InvalidReference(
                f"Image reference {raw!r} has an invalid tag {tag!r}.",
                hint="Tags are up to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'.",
            )

    registry, _, path = text.partition("/")
    if not path or not ("." in registry or ":" in registry or registry == "localhost" or registry.startswith("[")):
        registry, path = DEFAULT_REGISTRY, text
    elif not _DOMAIN_RE.match(registry):
        raise InvalidReference(f"Image reference {raw!r} has an invalid registry host {registry!r}.")

    if not path:
        raise InvalidReference(f"Image reference {raw!r} names no repository.")
    if path != path.lower() and _PATH_RE.match(path.lower()):
        raise InvalidReference(
            f"Image reference {raw!r} has upper-case letters in the repository {path!r}.",
            hint=f"Repository names are lower case: try {path.lower()!r}.",
        )
    if not _PATH_RE.match(path):
        raise InvalidReference(
            f"Image reference {raw!r} has an invalid repository name {path!r}.",
            hint="Repository path components are lower-case letters and digits separated by '.', '_', '__' or '-'.",
        )
    if registry == DEFAULT_REGISTRY and "/" not in path:
        path = f"library/{path}"
    if tag is None and digest is None:
        tag = DEFAULT_TAG
    return ImageReference(registry=registry, repository=path, tag=tag, digest=digest)
