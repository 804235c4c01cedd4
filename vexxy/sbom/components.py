"""Components of an image as vexxy uses them: purl, OSV ecosystem and name, owned files.

Syft's native JSON is the source: it lists each package's files (dpkg .list/md5sums, Python
RECORD, ...) which runtime evidence maps observed paths against. A package whose metadata lists
no files has `files == ()`: its use is unknown, never "unused".
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Any

from packageurl import PackageURL

# purl type -> OSV ecosystem (Debian and Alpine get the distro release appended).
PURL_TO_OSV = {
    "pypi": "PyPI",
    "npm": "npm",
    "golang": "Go",
    "maven": "Maven",
    "gem": "RubyGems",
    "cargo": "crates.io",
    "nuget": "NuGet",
    "composer": "Packagist",
    "hex": "Hex",
    "pub": "Pub",
    "deb": "Debian",
    "apk": "Alpine",
}


@dataclass(frozen=True)
class Component:
    ref: str  # Syft's artifact id, stable within one SBOM
    name: str
    version: str
    type: str  # Syft's package type: python, deb, npm, go-module, java-archive, ...
    purl: str
    ecosystem: str | None  # OSV ecosystem, e.g. "PyPI", "Debian:12"; None when OSV has none
    osv_name: str  # the name OSV advisories use (Debian: the source package)
    osv_version: str  # the version OSV advisories compare (Debian: the source version)
    files: tuple[str, ...] = ()

    @property
    def purl_without_qualifiers(self) -> str:
        return strip_qualifiers(self.purl)


def strip_qualifiers(purl: str) -> str:
    """`pkg:type/ns/name@version` with no qualifiers or subpath (how VEX consumers match)."""
    try:
        parsed = PackageURL.from_string(purl)
    except ValueError:
        return purl.split("?", 1)[0].split("#", 1)[0]
    return PackageURL(type=parsed.type, namespace=parsed.namespace, name=parsed.name, version=parsed.version).to_string()


def _osv_ecosystem(purl: PackageURL | None) -> str | None:
    if purl is None or purl.type not in PURL_TO_OSV:
        return None
    ecosystem = PURL_TO_OSV[purl.type]
    distro = (purl.qualifiers or {}).get("distro", "")
    if purl.type == "deb":
        release = re.match(r"^(?:debian|ubuntu)-(\d+(?:\.\d+)?)", distro)
        if purl.namespace == "ubuntu":
            return f"Ubuntu:{release.group(1)}" if release else "Ubuntu"
        return f"Debian:{release.group(1).split('.')[0]}" if release else "Debian"
    if purl.type == "apk":
        release = re.match(r"^alpine-(\d+\.\d+)", distro)
        return f"Alpine:v{release.group(1)}" if release else "Alpine"
    return ecosystem


def _osv_name(purl: PackageURL) -> str:
    if purl.type == "maven" and purl.namespace:
        return f"{purl.namespace}:{purl.name}"
    if purl.type in ("npm", "golang", "composer") and purl.namespace:
        return f"{purl.namespace}/{purl.name}"
    return purl.name


def _owned_files(artifact: dict[str, Any]) -> tuple[str, ...]:
    metadata = artifact.get("metadata") or {}
    listed = [f.get("path") for f in metadata.get("files") or [] if isinstance(f, dict) and f.get("path")]
    if not listed:
        return ()
    if artifact.get("type") == "python":
        # RECORD paths are relative to the site-packages directory holding the .dist-info.
        anchor = next(
            (
                loc["path"]
                for loc in artifact.get("locations") or []
                if ".dist-info/" in loc.get("path", "") or ".egg-info" in loc.get("path", "")
            ),
            None,
        )
        if anchor is None:
            return ()
        site = posixpath.dirname(posixpath.dirname(anchor))
        return tuple(sorted({posixpath.normpath(posixpath.join(site, p)) for p in listed}))
    return tuple(sorted({posixpath.normpath("/" + p.lstrip("/")) for p in listed}))


def components_from_syft(document: dict[str, Any]) -> list[Component]:
    components = []
    for artifact in document.get("artifacts") or []:
        purl_text = artifact.get("purl") or ""
        try:
            purl = PackageURL.from_string(purl_text) if purl_text else None
        except ValueError:
            purl = None
        metadata = artifact.get("metadata") or {}
        osv_name = _osv_name(purl) if purl else artifact.get("name", "")
        osv_version = artifact.get("version", "")
        if artifact.get("type") == "deb":
            osv_name = metadata.get("source") or artifact.get("name", "")
            osv_version = metadata.get("sourceVersion") or osv_version
        components.append(
            Component(
                ref=artifact.get("id", ""),
                name=artifact.get("name", ""),
                version=artifact.get("version", ""),
                type=artifact.get("type", ""),
                purl=purl_text,
                ecosystem=_osv_ecosystem(purl),
                osv_name=osv_name,
                osv_version=osv_version,
                files=_owned_files(artifact),
            )
        )
    return sorted(components, key=lambda c: (c.type, c.name, c.version, c.ref))
