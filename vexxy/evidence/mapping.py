"""Map observed paths to the SBOM components that own them.

Component file lists (dpkg, Python RECORD, ...) and observed paths are both canonicalized
through the image's symlinks; a compiled `__pycache__/x.cpython-3XX.pyc` counts as its `x.py`;
shared objects are counted separately (they are what the dynamic loader pulled in). A component
whose metadata lists no files is "unknown", never "unused".
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from vexxy.sandbox.symlinks import resolve
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
        )


def describe_window(profile: dict[str, Any]) -> str:
    window = profile["window"]
    return f"{window['observed_seconds']:.0f} s of {window['configured_seconds']:.0f} s, ended by {window['ended_by']}"


def map_profile(components: list[Component], profile: dict[str, Any], symlinks: dict[str, str]) -> UsageReport:
    observations = {**profile["observations"]["opens"], **profile["observations"]["execs"]}
    seen: dict[str, dict[str, Any]] = {}
    for path, info in observations.items():
        canonical = resolve(path, symlinks)
        for candidate in filter(None, (canonical, source_of(canonical))):
            entry = seen.setdefault(
                candidate, {"first_seen": info["first_seen"], "phase": info.get("phase", "idle"), "observed": path}
            )
            if info["first_seen"] < entry["first_seen"]:
                entry.update(first_seen=info["first_seen"], phase=info.get("phase", "idle"))
    owned: set[str] = set()
    usages = []
    for component in components:
        files = {resolve(f, symlinks) for f in component.files}
        owned |= files
        loaded = sorted(f for f in files if f in seen)
        if not component.files:
            status = UNKNOWN
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
                shared_objects_loaded=sum(1 for f in loaded if _SHARED_OBJECT.search(f)),
                first_seen=min((seen[f]["first_seen"] for f in loaded), default=None),
                loaded_while_fuzzing_only=bool(loaded) and all(seen[f]["phase"] == "fuzzing" for f in loaded),
            )
        )
    unowned = sorted(
        info["observed"]
        for path, info in seen.items()
        if path not in owned and source_of(path) is None and resolve(info["observed"], symlinks) == path
    )
    return UsageReport(
        components=usages,
        unowned_paths=unowned,
        profile_digest=profile["digest"],
        profile_complete=profile["complete"],
        incomplete_reason=profile.get("incomplete_reason", ""),
        window=describe_window(profile),
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
            files_loaded=tuple(usage.files_loaded),
            profile_complete=self.report.profile_complete,
            profile_digest=self.report.profile_digest,
            window=self.report.window,
            incomplete_reason=self.report.incomplete_reason,
            imported_by=self._imported_by.get(component_ref, ()),
            imports_checked=self._imports_checked,
            imports_note=self._imports_note,
            dynamic_loads=self._dynamic_loads.get(component_ref, ()),
        )
