"""One error family for everything a user can get wrong, each naming the input and the way out."""

from __future__ import annotations


class VexxyError(Exception):
    """An error a user can act on: `str()` says what is wrong with which input and what to do."""

    def __init__(self, message: str, *, hint: str | None = None):
        self.message = message
        self.hint = hint
        super().__init__(f"{message} {hint}" if hint else message)


class InvalidReference(VexxyError):
    """The image reference does not follow the OCI reference grammar."""


class RegistryError(VexxyError):
    """The registry could not answer as needed."""


class RegistryUnavailable(RegistryError):
    """The registry is down or unreachable."""


class RegistryAuthError(RegistryError):
    """The registry refused our credentials (or asked for some)."""


class ImageNotFound(RegistryError):
    """The repository, tag or digest does not exist in the registry."""


class PlatformNotFound(RegistryError):
    """A multi-platform image has no manifest for the requested platform."""


class UnsupportedManifest(RegistryError):
    """The registry returned a document that is not an image manifest we understand."""


class SbomError(VexxyError):
    """The SBOM generator failed or produced something we cannot read."""


class AdvisorySourceError(VexxyError):
    """The vulnerability database source cannot be read at all."""
