"""The parts of an OSV record (https://ossf.github.io/osv-schema/) that matching and VEX need."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


class MalformedAdvisory(ValueError):
    """One OSV record does not follow the schema; it is reported and skipped."""


@dataclass(frozen=True)
class RangeEvent:
    kind: str  # introduced | fixed | last_affected | limit
    version: str


@dataclass(frozen=True)
class AffectedRange:
    type: str  # ECOSYSTEM | SEMVER | GIT
    events: tuple[RangeEvent, ...]


@dataclass(frozen=True)
class AffectedPackage:
    ecosystem: str
    name: str
    purl: str | None = None
    ranges: tuple[AffectedRange, ...] = ()
    versions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Advisory:
    id: str
    modified: str
    aliases: tuple[str, ...] = ()
    summary: str = ""
    details: str = ""
    published: str | None = None
    withdrawn: str | None = None
    affected: tuple[AffectedPackage, ...] = ()
    severity: tuple[dict[str, str], ...] = field(default_factory=tuple)
    references: tuple[str, ...] = ()

    @property
    def cve_ids(self) -> list[str]:
        return sorted({i for i in (self.id, *self.aliases) if i.startswith("CVE-")})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Advisory:
        return cls(
            id=data["id"],
            modified=data["modified"],
            aliases=tuple(data.get("aliases") or ()),
            summary=data.get("summary") or "",
            details=data.get("details") or "",
            published=data.get("published"),
            withdrawn=data.get("withdrawn"),
            affected=tuple(
                AffectedPackage(
                    ecosystem=a["ecosystem"],
                    name=a["name"],
                    purl=a.get("purl"),
                    ranges=tuple(
                        AffectedRange(r["type"], tuple(RangeEvent(e["kind"], e["version"]) for e in r["events"]))
                        for r in a.get("ranges") or ()
                    ),
                    versions=tuple(a.get("versions") or ()),
                )
                for a in data.get("affected") or ()
            ),
            severity=tuple(data.get("severity") or ()),
            references=tuple(data.get("references") or ()),
        )


_EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")
_RANGE_TYPES = ("ECOSYSTEM", "SEMVER", "GIT")


def _text(value: Any) -> str:
    """YAML turns `5.4` or `2021-01-01` into numbers and dates; OSV means strings."""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def parse_osv(document: Any) -> Advisory:
    """Validate and convert one OSV record (already decoded from JSON or YAML)."""
    if not isinstance(document, dict):
        raise MalformedAdvisory("the record is not a JSON/YAML object")
    advisory_id = document.get("id")
    if not advisory_id or not isinstance(advisory_id, str):
        raise MalformedAdvisory("the record has no 'id'")
    if "modified" not in document:
        raise MalformedAdvisory(f"{advisory_id}: the record has no 'modified' time")
    affected = []
    for index, entry in enumerate(document.get("affected") or []):
        if not isinstance(entry, dict):
            raise MalformedAdvisory(f"{advisory_id}: affected[{index}] is not an object")
        package = entry.get("package") or {}
        if not isinstance(package, dict):
            raise MalformedAdvisory(f"{advisory_id}: affected[{index}].package is not an object")
        if not package.get("ecosystem") or not package.get("name"):
            if entry.get("ranges") and all((r or {}).get("type") == "GIT" for r in entry["ranges"]):
                continue  # a source-repository-only entry: nothing to match a package against
            raise MalformedAdvisory(f"{advisory_id}: affected[{index}].package needs 'ecosystem' and 'name'")
        ranges = []
        for r_index, raw_range in enumerate(entry.get("ranges") or []):
            if not isinstance(raw_range, dict) or raw_range.get("type") not in _RANGE_TYPES:
                raise MalformedAdvisory(
                    f"{advisory_id}: affected[{index}].ranges[{r_index}] has no valid type (ECOSYSTEM, SEMVER or GIT)"
                )
            events = []
            for event in raw_range.get("events") or []:
                if not isinstance(event, dict) or len(event) != 1 or next(iter(event)) not in _EVENT_KINDS:
                    raise MalformedAdvisory(
                        f"{advisory_id}: affected[{index}].ranges[{r_index}] has an "
                        f"event that is not one of {', '.join(_EVENT_KINDS)}: {event!r}"
                    )
                kind, version = next(iter(event.items()))
                events.append(RangeEvent(kind, _text(version)))
            if not any(e.kind == "introduced" for e in events):
                raise MalformedAdvisory(f"{advisory_id}: affected[{index}].ranges[{r_index}] has no 'introduced' event")
            ranges.append(AffectedRange(raw_range["type"], tuple(events)))
        affected.append(
            AffectedPackage(
                ecosystem=str(package["ecosystem"]),
                name=str(package["name"]),
                purl=package.get("purl"),
                ranges=tuple(ranges),
                versions=tuple(_text(v) for v in entry.get("versions") or []),
            )
        )
    return Advisory(
        id=advisory_id,
        modified=_text(document["modified"]),
        aliases=tuple(str(a) for a in document.get("aliases") or []),
        summary=str(document.get("summary") or ""),
        details=str(document.get("details") or "")[:2000],
        published=_text(document["published"]) if document.get("published") else None,
        withdrawn=_text(document["withdrawn"]) if document.get("withdrawn") else None,
        affected=tuple(affected),
        severity=tuple(
            {"type": str(s.get("type")), "score": str(s.get("score"))}
            for s in document.get("severity") or []
            if isinstance(s, dict)
        ),
        references=tuple(str(r.get("url")) for r in document.get("references") or [] if isinstance(r, dict) and r.get("url")),
    )
