"""Which version ordering each OSV ecosystem uses (all from `univers`, none hand-written; Alpine's >= and <= completed)."""

from __future__ import annotations

from functools import lru_cache

from univers import versions as uv


class AlpineVersion(uv.AlpineLinuxVersion):
    """univers orders Alpine versions with Gentoo's vercmp for <, > and ==, but leaves >= and <= to attrs,
    which compare the version strings (3.1.9-r0 >= 3.1.10-r0): all four follow vercmp here."""

    def __ge__(self, other):
        return NotImplemented if not isinstance(other, self.__class__) else not self < other

    def __le__(self, other):
        return NotImplemented if not isinstance(other, self.__class__) else not self > other


_BY_ECOSYSTEM: dict[str, type[uv.Version]] = {
    "PyPI": uv.PypiVersion,
    "npm": uv.SemverVersion,
    "Go": uv.GolangVersion,
    "Maven": uv.MavenVersion,
    "Debian": uv.DebianVersion,
    "Ubuntu": uv.DebianVersion,
    "Alpine": AlpineVersion,
    "RubyGems": uv.RubygemsVersion,
    "NuGet": uv.NugetVersion,
    "Packagist": uv.ComposerVersion,
    "crates.io": uv.SemverVersion,
    "Hex": uv.SemverVersion,
    "Pub": uv.SemverVersion,
}


class UnorderableVersion(ValueError):
    """A version string the ecosystem's ordering cannot parse."""


def version_class(ecosystem: str) -> type[uv.Version] | None:
    return _BY_ECOSYSTEM.get(ecosystem.split(":", 1)[0])


@lru_cache(maxsize=262144)
def parse_version(ecosystem: str, text: str, range_type: str = "ECOSYSTEM") -> uv.Version:
    """Parse `text` with the ordering of `ecosystem` (SEMVER ranges always use semver).

    Cached: matching an SBOM against all of OSV parses the same range bounds over and over, and
    univers' versions are immutable.
    """
    cls = uv.SemverVersion if range_type == "SEMVER" else version_class(ecosystem)
    if cls is None:
        raise UnorderableVersion(f"no version ordering is known for ecosystem {ecosystem!r}")
    if cls is uv.SemverVersion and text.startswith("v"):
        text = text[1:]
    try:
        return cls(text)
    except (uv.InvalidVersion, ValueError, TypeError) as exc:
        raise UnorderableVersion(f"{text!r} is not a valid {ecosystem} version") from exc
