"""Map what the workload loaded to the SBOM's components, and say what that leaves open.

Component file lists (dpkg, Python RECORD, ...) and observed paths are both canonicalized
through the image's symlinks; bytecode counts as its source under any cache layout, and a file is
also recognised by its content (`vexxy.evidence.attribution`): a copy, rename or zipped copy of a
package's file loads that package. Unowned code that looks like a component, and code loaded that
nobody can attribute, are carried to the statements, which then never say `not_affected` for what
that code could be. Shared objects are counted separately (they are what the dynamic loader pulled
in). A component whose metadata lists no files is "unknown", never "unused".
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from vexxy.evidence.attribution import Attributor
from vexxy.oci.layers.identity import NATIVE, SOURCE, CodeIdentity, kind_of
from vexxy.oci.layers.symlinks import resolve
from vexxy.sbom.components import Component
from vexxy.vex.statements import ComponentEvidence

_PYC = re.compile(r"^(?P<dir>.*)/__pycache__/(?P<module>[^/.]+)\.[^/]+\.pyc$")
_SHARED_OBJECT = re.compile(r"\.so(\.\d+)*$")

LOADED, NOT_LOADED, UNKNOWN = "loaded", "not_loaded", "unknown"


def source_of(path: str) -> str | None:
    """`/a/__pycache__/b.cpython-311.pyc` -> `/a/b.py` (None for anything else)."""
    match = _PYC.match(path)
    return f"{match.group('dir')}/{match.group('module')}.py" if match else None


@dataclass
class ComponentUsage:
    ref: str
    name: str
    version: str
    purl: str
    status: str  # loaded | not_loaded | unknown
    files_known: int
    files_loaded: list[str] = field(default_factory=list)
    shared_objects_loaded: int = 0
    first_seen: float | None = None
    loaded_while_fuzzing_only: bool = False
    lookalikes: list[str] = field(default_factory=list)  # unowned code loaded that looks like this component
    listed_code_missing: int = 0  # code files the package lists that the image does not hold (most of them: files unknown)
    unattributed_reaching: list[str] = field(default_factory=list)  # unattributable code loaded that could be it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class UsageReport:
    components: list[ComponentUsage]
    unowned_paths: list[str]
    profile_digest: str
    profile_complete: bool
    incomplete_reason: str
    window: str
    unattributed: list[str] = field(default_factory=list)  # code loaded that no component or image file accounts for

    def by_ref(self) -> dict[str, ComponentUsage]:
        return {c.ref: c for c in self.components}

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile_digest": self.profile_digest,
            "profile_complete": self.profile_complete,
            "incomplete_reason": self.incomplete_reason,
            "window": self.window,
            "components": [c.to_dict() for c in self.components],
            "unowned_paths": self.unowned_paths,
            "unattributed": self.unattributed,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UsageReport:
        return cls(
            components=[ComponentUsage(**c) for c in data["components"]],
            unowned_paths=data["unowned_paths"],
            profile_digest=data["profile_digest"],
            profile_complete=data["profile_complete"],
            incomplete_reason=data["incomplete_reason"],
            window=data["window"],
            unattributed=data.get("unattributed", []),
        )


def _observed(seen_as: str, observations: dict[str, Any]) -> str:
    """The observed path `seen_as` names: itself, or the archive of an `archive!/member` (either may hold `!/`)."""
    if seen_as in observations:
        return seen_as
    at = seen_as.find("!/")
    while at >= 0 and seen_as[:at] not in observations:
        at = seen_as.find("!/", at + 1)
    return seen_as[:at]


def describe_window(profile: dict[str, Any]) -> str:
    window = profile["window"]
    return f"{window['observed_seconds']:.0f} s of {window['configured_seconds']:.0f} s, ended by {window['ended_by']}"


def listed_code_missing(files: set[str], image_code: dict[str, CodeIdentity] | None) -> int:
    """How many of the source and native files a package lists the image lacks, when that is most of them.

    A package whose metadata names paths the image does not have says nothing about where its code
    is (a forged RECORD, or a package moved after install): its files are unknown, never unused.
    Bytecode is left out (images often drop `__pycache__`)."""
    if not image_code:
        return 0
    code = [f for f in files if kind_of(f) in (SOURCE, NATIVE)]
    missing = sum(1 for f in code if f not in image_code)
    return missing if code and missing * 2 > len(code) else 0


def map_profile(
    components: list[Component],
    profile: dict[str, Any],
    symlinks: dict[str, str],
    image_code: dict[str, CodeIdentity] | None = None,
) -> UsageReport:
    """Attribute what the profile saw to components (`vexxy.evidence.attribution`): `image_code` is the
    identity of each code file of the image as built, read from its layers."""
    opens, execs = profile["observations"]["opens"], profile["observations"]["execs"]
    observations = {**opens, **execs}
    identities = {sha: CodeIdentity.from_dict(found) for sha, found in (profile.get("identities") or {}).items()}
    attributor = Attributor(components, symlinks, image_code)
    attribution = attributor.attribute(observations, identities, set(execs))
    reach = {kind: attributor.reach(kind) for kind in set(attribution.unattributed.values())}

    def earliest(paths: list[str]) -> dict[str, Any] | None:
        """When the first of `paths` (observed paths, `archive!/member` for a member) was seen, and in which phase."""
        infos = [observations[_observed(p, observations)] for p in paths]
        first = min(infos, key=lambda info: info["first_seen"], default=None)
        return None if first is None else {"first_seen": first["first_seen"], "phase": first.get("phase", "idle")}

    usages = []
    for component in components:
        files = {resolve(f, symlinks) for f in component.files}
        owned = attribution.owned.get(component.ref, {})
        copies = attribution.copies.get(component.ref, {})
        loaded = sorted(owned) + sorted(f"{observed} ({why})" for observed, why in copies.items())
        sightings = [earliest(list(paths)) for paths in owned.values()] + [earliest([p]) for p in copies]
        missing = listed_code_missing(files, image_code)
        if not component.files or (missing and not loaded):
            status = LOADED if loaded else UNKNOWN
        else:
            status = LOADED if loaded else NOT_LOADED
        usages.append(
            ComponentUsage(
                ref=component.ref,
                name=component.name,
                version=component.version,
                purl=component.purl_without_qualifiers,
                status=status,
                files_known=len(files),
                files_loaded=loaded,
                shared_objects_loaded=sum(1 for f in owned if _SHARED_OBJECT.search(f)),
                first_seen=min((s["first_seen"] for s in sightings if s), default=None),
                loaded_while_fuzzing_only=bool(sightings) and all(s and s["phase"] == "fuzzing" for s in sightings),
                lookalikes=sorted(f"{seen_as} ({why})" for seen_as, why in attribution.lookalikes.get(component.ref, {}).items()),
                listed_code_missing=missing,
                unattributed_reaching=sorted(
                    f"{observed} ({kind})" for observed, kind in attribution.unattributed.items() if component.ref in reach[kind]
                ),
            )
        )
    known = attributor.owner.keys() | (image_code or {}).keys()
    unowned = sorted(  # bytecode counts as its source when the image or a package has it; without one, it is loose
        path
        for path in observations
        if (canonical := resolve(path, symlinks)) not in attributor.owner
        and not any(source in known for source in attributor.sources(canonical))
    )
    return UsageReport(
        components=usages,
        unowned_paths=unowned,
        profile_digest=profile["digest"],
        profile_complete=profile["complete"],
        incomplete_reason=profile.get("incomplete_reason", ""),
        window=describe_window(profile),
        unattributed=sorted(f"{observed} ({kind})" for observed, kind in attribution.unattributed.items()),
    )


class ProfileEvidence:
    """VEX evidence from a usage report (the `EvidenceSource` the statement builder asks), with the
    first-party import sites (`file:line`) naming each component when they were analyzed, and the
    sites that could load it by a name vexxy cannot read."""

    def __init__(
        self,
        report: UsageReport,
        imported_by: dict[str, tuple[str, ...]] | None = None,
        imports_checked: bool = False,
        imports_note: str = "",
        dynamic_loads: dict[str, tuple[tuple[str, str], ...]] | None = None,
    ):
        self.report = report
        self._by_ref = report.by_ref()
        self._imported_by = imported_by or {}
        self._imports_checked = imports_checked
        self._imports_note = imports_note
        # component ref -> (`file:line`, construct) of the first-party sites loading code by a name
        # vexxy cannot read that could bring the component in
        self._dynamic_loads = dynamic_loads or {}

    def for_component(self, component_ref: str) -> ComponentEvidence | None:
        usage = self._by_ref.get(component_ref)
        if usage is None:
            return None
        return ComponentEvidence(
            files_known=0 if usage.status == UNKNOWN else usage.files_known,
            listed_code_missing=usage.listed_code_missing,
            files_loaded=tuple(usage.files_loaded),
            profile_complete=self.report.profile_complete,
            profile_digest=self.report.profile_digest,
            window=self.report.window,
            incomplete_reason=self.report.incomplete_reason,
            imported_by=self._imported_by.get(component_ref, ()),
            imports_checked=self._imports_checked,
            imports_note=self._imports_note,
            dynamic_loads=self._dynamic_loads.get(component_ref, ()),
            lookalikes=tuple(usage.lookalikes),
            unattributed=tuple(usage.unattributed_reaching),
        )
