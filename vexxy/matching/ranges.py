"""Evaluate OSV `affected[]` entries against one version, exactly as the OSV schema defines."""

from __future__ import annotations

from dataclasses import dataclass

from vexxy.matching.versions import UnorderableVersion, parse_version
from vexxy.osv.records import AffectedPackage, AffectedRange


@dataclass(frozen=True)
class RangeHit:
    """Why a version is affected: the listed version, or the range (and its bounds) it falls in."""

    kind: str  # "versions" or the range type (ECOSYSTEM, SEMVER)
    introduced: str | None = None
    fixed: str | None = None
    last_affected: str | None = None
    limit: str | None = None

    def describe(self) -> str:
        if self.kind == "versions":
            return "listed in the advisory's affected versions"
        upper = f"< {self.fixed}" if self.fixed else f"<= {self.last_affected}" if self.last_affected else "(no fix yet)"
        lower = ">= 0" if self.introduced in (None, "0") else f">= {self.introduced}"
        return f"{self.kind} {lower} {upper}" + (f", < limit {self.limit}" if self.limit else "")


def _in_range(version, ecosystem: str, affected_range: AffectedRange) -> RangeHit | None:
    """OSV's algorithm on versions parsed with the ecosystem's ordering."""
    keyed = [
        (None if opens_at_zero(event) else parse_version(ecosystem, event.version, affected_range.type), event)
        for event in affected_range.events
    ]
    return walk_events(version, keyed, affected_range.type)


def opens_at_zero(event) -> bool:
    return event.kind == "introduced" and event.version == "0"


def walk_events(version, keyed_events: list, range_type: str) -> RangeHit | None:
    """OSV's algorithm: walk events in version order; introduced opens, fixed/last_affected close.

    `keyed_events` pairs each event with its position in the version order (None for `introduced: 0`):
    parsed versions, or ranks in a package's pre-sorted bounds; `version` is keyed the same way.
    """
    events = sorted(keyed_events, key=lambda pair: (0,) if pair[0] is None else (1, pair[0]))
    affected, opened_by, closed_by = False, None, None
    for parsed, event in events:
        if event.kind == "introduced" and (parsed is None or version >= parsed):
            affected, opened_by, closed_by = True, event.version, None
        elif event.kind == "fixed" and version >= parsed:
            affected = False
        elif event.kind == "last_affected" and version > parsed:
            affected = False
        elif event.kind in ("fixed", "last_affected") and affected and closed_by is None:
            closed_by = event
    limits = [parsed for parsed, event in events if event.kind == "limit"]
    if affected and any(version >= limit for limit in limits):
        affected = False
    if not affected:
        return None
    return RangeHit(
        kind=range_type,
        introduced=opened_by,
        fixed=closed_by.version if closed_by and closed_by.kind == "fixed" else None,
        last_affected=closed_by.version if closed_by and closed_by.kind == "last_affected" else None,
        limit=next((e.version for p, e in events if e.kind == "limit"), None),
    )


def affected_by(ecosystem: str, version_text: str, affected: AffectedPackage) -> RangeHit | None:
    """The reason `version_text` is affected by this `affected[]` entry, or None if it is not.

    Raises UnorderableVersion when the component's own version cannot be ordered; a range whose
    bounds cannot be parsed is skipped (the explicit `versions` list may still match).
    """
    version = parse_version(ecosystem, version_text)
    for affected_range in affected.ranges:
        if affected_range.type == "GIT":
            continue  # commit ranges describe source history, not package versions
        try:
            # A SEMVER range (how OSV publishes Go advisories) orders the component's version as semver too.
            ordered = parse_version(ecosystem, version_text, affected_range.type) if affected_range.type == "SEMVER" else version
            hit = _in_range(ordered, ecosystem, affected_range)
        except UnorderableVersion:
            continue
        if hit:
            return hit
    for listed in affected.versions:
        try:
            same = parse_version(ecosystem, listed) == version
        except UnorderableVersion:
            same = listed == version_text
        if same:
            return RangeHit(kind="versions", fixed=_first_fixed(ecosystem, version_text, affected))
    return None


def _first_fixed(ecosystem: str, version_text: str, affected: AffectedPackage) -> str | None:
    """The lowest fixed version above `version_text` in any range (for a match found by listed version)."""
    fixes = []
    for affected_range in affected.ranges:
        if affected_range.type == "GIT":
            continue
        try:
            version = parse_version(ecosystem, version_text, affected_range.type)
        except UnorderableVersion:
            continue
        for event in affected_range.events:
            if event.kind == "fixed":
                try:
                    parsed = parse_version(ecosystem, event.version, affected_range.type)
                except UnorderableVersion:
                    continue
                if parsed > version:
                    fixes.append((parsed, event.version))
    return min(fixes, key=lambda fix: fix[0])[1] if fixes else None
