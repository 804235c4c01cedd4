"""What a VEX document was derived from, named in the document itself so it can be traced without vexxy.

Each input is cited by its stored document name and the SHA-256 of that file's bytes (recompute it
with `sha256sum <file>`): the SBOM (and its CycloneDX serial number and version, for a BOM-Link),
the execution profile, and the advisory snapshot's content hash; plus vexxy's version and the author.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from typing import Any

from cyclonedx.model import XsUri

from vexxy import settings

DEFAULT_AUTHOR = "vexxy"
_AUTHOR_LIMIT = 200
_SERIAL = re.compile(r"urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX64 = re.compile(r"[0-9a-f]{64}")


@lru_cache(maxsize=1)
def vexxy_version() -> str:
    try:
        return metadata.version("vexxy")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


def vex_author(written: str | None = None) -> str:
    """`VEXXY_VEX_AUTHOR` on one line and at most 200 characters (an operator's text, still bounded), else vexxy."""
    value = " ".join((settings.vex_author() if written is None else written).split())
    if not value.isprintable():
        raise ValueError("VEXXY_VEX_AUTHOR must be printable text")
    return value[:_AUTHOR_LIMIT] or DEFAULT_AUTHOR


@dataclass(frozen=True)
class SbomIdentity:
    """The CycloneDX SBOM a VEX was derived from: its file, the file's SHA-256, and its BOM-Link parts."""

    name: str
    sha256: str
    serial_number: str | None  # `urn:uuid:...` when the SBOM has a well-formed one
    version: int
    root_ref: str | None  # the SBOM's metadata component bom-ref
    refs: dict[str, str]  # Syft package id -> the SBOM component's bom-ref

    @classmethod
    def from_cyclonedx(cls, name: str, sha256: str, document: dict[str, Any]) -> SbomIdentity:
        serial = document.get("serialNumber")
        version = document.get("version", 1)
        root = ((document.get("metadata") or {}).get("component") or {}).get("bom-ref")
        refs = {}
        for component in document.get("components") or []:
            ref = component.get("bom-ref") if isinstance(component, dict) else None
            if isinstance(ref, str) and ref:
                package_id = ref.rsplit("package-id=", 1)[1] if "package-id=" in ref else ref
                refs[package_id] = ref
        return cls(
            name=name,
            sha256=sha256,
            serial_number=serial if isinstance(serial, str) and _SERIAL.fullmatch(serial) else None,
            version=version if isinstance(version, int) and not isinstance(version, bool) and version > 0 else 1,
            root_ref=root if isinstance(root, str) and root else None,
            refs=refs,
        )

    def bom_link(self, ref: str | None = None) -> str | None:
        """`urn:cdx:<serial>/<version>[#<bom-ref>]` (CycloneDX BOM-Link), None without a serial number."""
        if self.serial_number is None:
            return None
        return str(XsUri.make_bom_link(self.serial_number.removeprefix("urn:uuid:"), self.version, ref))


@dataclass(frozen=True)
class Provenance:
    advisory_snapshot: str  # content hash of the OSV snapshot the matches came from
    sbom: SbomIdentity | None  # None: no SBOM recorded for the image
    profile_name: str | None  # None: no runtime evidence
    profile_sha256: str | None
    author: str = DEFAULT_AUTHOR
    version: str = ""

    def __post_init__(self):
        for value in (self.sbom.sha256 if self.sbom else None, self.profile_sha256):
            if value is not None and not _HEX64.fullmatch(value):
                raise ValueError(f"not a SHA-256: {value!r}")
        if not self.version:
            object.__setattr__(self, "version", vexxy_version())

    def tooling(self) -> str:
        """OpenVEX's `tooling` (its schema allows no other place): vexxy's version and every input, by SHA-256."""
        profile = (
            f"execution profile {self.profile_name} sha256:{self.profile_sha256} (SHA-256 of the file)"
            if self.profile_sha256
            else "no execution profile (no runtime evidence)"
        )
        link = self.sbom.bom_link() if self.sbom else None
        sbom = f"SBOM {self.sbom.name} sha256:{self.sbom.sha256}{f' ({link})' if link else ''}" if self.sbom else "no SBOM"
        return (
            f"vexxy {self.version} (runtime-evidence VEX); advisories: OSV snapshot {self.advisory_snapshot}; {sbom}; {profile}"
        )

    def properties(self) -> dict[str, str]:
        """The same, as `vexxy:` name/value pairs (CycloneDX metadata properties)."""
        values = {"vexxy:version": self.version, "vexxy:advisory_snapshot": self.advisory_snapshot}
        if self.sbom:
            values["vexxy:sbom"] = self.sbom.name
            values["vexxy:sbom_sha256"] = self.sbom.sha256
        if self.profile_sha256:
            values["vexxy:execution_profile"] = self.profile_name or ""
            values["vexxy:execution_profile_sha256"] = self.profile_sha256
        return values
