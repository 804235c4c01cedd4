"""Match SBOM components against the advisory database."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from vexxy.matching.ranges import RangeHit
from vexxy.matching.versions import UnorderableVersion, version_class
from vexxy.osv.description import describe_advisory
from vexxy.osv.records import Advisory, AffectedPackage
from vexxy.sbom.components import Component


@dataclass(frozen=True)
class VulnerabilityMatch:
    """One advisory affecting one component, with the range that matched and the fix."""

    component_ref: str
    component_name: str
    component_version: str
    purl: str
    ecosystem: str
    advisory_id: str
    aliases: tuple[str, ...]
    vulnerability: str  # the CVE id when there is exactly one, else the advisory id
    summary: str
    matched: str  # a readable description of the range or version list that matched
    introduced: str | None
    fixed: str | None
    last_affected: str | None
    severity: tuple[dict[str, str], ...] = ()
    modified: str = ""

    @property
    def key(self) -> tuple[str, str]:
        """(vulnerability, component): what one VEX statement is about."""
        return (self.vulnerability, self.purl)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VulnerabilityMatch:
        return cls(**{**data, "aliases": tuple(data["aliases"]), "severity": tuple(data.get("severity") or ())})


@dataclass
class MatchReport:
    matches: list[VulnerabilityMatch] = field(default_factory=list)
    components_checked: int = 0
    components_without_ecosystem: int = 0
    unorderable: list[tuple[str, str]] = field(default_factory=list)  # (purl, why)

    def by_ecosystem(self) -> dict[str, int]:
        return dict(sorted(Counter(m.ecosystem.split(":", 1)[0] for m in self.matches).items()))


def vulnerability_name(advisory_id: str, aliases: tuple[str, ...]) -> str:
    cves = sorted({i for i in (advisory_id, *aliases) if i.startswith("CVE-")})
    return cves[0] if cves else advisory_id


class AdvisoryLookup(Protocol):
    """What matching asks of advisories: the in-memory `AdvisoryDatabase` or the on-disk `AdvisoryIndex`."""

    def candidates(self, ecosystem: str, name: str) -> list[tuple[Advisory, AffectedPackage]]: ...

    def evaluator(self, ecosystem: str, name: str, version: str) -> Callable[[AffectedPackage], RangeHit | None]:
        """Why `version` of the package is affected by one of its `affected[]` entries (`ranges.affected_by`'s answer)."""
        ...


def match_components(components: list[Component], database: AdvisoryLookup) -> MatchReport:
    report = MatchReport()
    seen: set[tuple[str, str]] = set()
    for component in components:
        if not component.ecosystem or version_class(component.ecosystem) is None:
            report.components_without_ecosystem += 1
            continue
        report.components_checked += 1
        purl = None  # computed for the first match only: parsing purls is not free
        candidates = database.candidates(component.ecosystem, component.osv_name)
        affected_by = database.evaluator(component.ecosystem, component.osv_name, component.osv_version) if candidates else None
        for advisory, affected in candidates:
            if (advisory.id, component.ref) in seen:
                continue
            try:
                hit = affected_by(affected)
            except UnorderableVersion as exc:
                report.unorderable.append((component.purl, str(exc)))
                break
            if hit is None:
                continue
            seen.add((advisory.id, component.ref))
            purl = purl or component.purl_without_qualifiers
            report.matches.append(
                VulnerabilityMatch(
                    component_ref=component.ref,
                    component_name=component.name,
                    component_version=component.version,
                    purl=purl,
                    ecosystem=component.ecosystem,
                    advisory_id=advisory.id,
                    aliases=tuple(sorted(set(advisory.aliases))),
                    vulnerability=vulnerability_name(advisory.id, advisory.aliases),
                    summary=describe_advisory(advisory.summary, advisory.details),
                    matched=hit.describe(),
                    introduced=hit.introduced,
                    fixed=hit.fixed,
                    last_affected=hit.last_affected,
                    severity=advisory.severity,
                    modified=advisory.modified,
                )
            )
    report.matches.sort(key=lambda m: (m.vulnerability, m.purl, m.advisory_id))
    return report
