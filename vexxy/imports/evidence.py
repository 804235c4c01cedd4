"""The import evidence of an image, and what it says once set against what a run loaded.

Read from the image alone (so it runs while the sandbox observes): the first-party files the
entrypoint reaches and the components they import, plus the imports of every other unowned Python
file (`loose`), which count once the run is seen loading that file. Set against the run, it gives
what the VEX statements cite (`imported_by`) and the components imported but never loaded, each a
path the observation did not reach. Only when the imports were read in full may a component no
first-party code imports be `not_affected` with high confidence.

Code loaded by a name the source does not spell out (`dynamic_loads`, and those of loose files the
run loaded, and shipped bytecode the run loaded) makes the imports unchecked and could load any
component holding that kind of code (`code_holders`): each such component the run did not load is
named with the sites that could load it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from vexxy.evidence.mapping import NOT_LOADED, UsageReport
from vexxy.imports.sites import BYTECODE, PYTHON_CODE, SHARED_OBJECT, DynamicLoad, EntryPoint, ImportAnalysis, ImportSite
from vexxy.sbom.components import Component

_SHARED_OBJECT = re.compile(r"\.so(\.\d+)*$")


def _how(site: ImportSite) -> str:
    return f"{site.how} ({site.scope}{', ImportError guarded' if site.guarded else ''})"


@dataclass(frozen=True)
class NotLoaded:
    """A component first-party code imports whose files were never loaded, with the sites that import it."""

    component_ref: str
    purl: str
    sites: tuple[str, ...]  # `file:line`
    hows: tuple[str, ...]  # how each site names it (`import (function do_POST)`, `setting:INSTALLED_APPS (module)`)


@dataclass(frozen=True)
class ImportEvidence:
    language: str
    entrypoints: tuple[dict[str, Any], ...]  # {"argv": [...], "working_dir": ...} of each role the analysis runs
    first_party_files: tuple[str, ...]
    import_sites: int
    imported_by: dict[str, tuple[str, ...]]  # component ref -> `file:line` of every first-party site importing it
    hows: dict[str, tuple[str, ...]]  # component ref -> how and where those sites name it
    loose: dict[str, dict[str, tuple[str, ...]]]  # other unowned Python file -> component ref -> `file:line`
    unreadable: tuple[str, ...]  # first-party files, trees or layers not read, with the reason
    dynamic_loads: tuple[DynamicLoad, ...] = ()  # first-party sites loading code by a name vexxy cannot read
    loose_dynamic: dict[str, tuple[DynamicLoad, ...]] = field(default_factory=dict)  # the same in other unowned files
    # what a dynamic load can bring in (`python`, `shared_object`) -> refs of the components holding such files
    code_holders: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def checked(self) -> bool:
        """First-party code was found and all of it was read, naming every module it loads: `imported_by` is the whole list."""
        return bool(self.first_party_files) and not self.unreadable and not self.dynamic_loads

    @property
    def note(self) -> str:
        """Why the imports were not checked (empty when they were)."""
        if self.unreadable:
            return f"{len(self.unreadable)} first-party files or trees could not be read ({self.unreadable[0]})"
        if not self.first_party_files:
            return "no first-party Python code was found in the image"
        if self.dynamic_loads:
            return dynamic_note(self.dynamic_loads)
        return ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["checked"], data["note"] = self.checked, self.note
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportEvidence:
        return cls(
            language=data["language"],
            entrypoints=tuple(data["entrypoints"]),
            first_party_files=tuple(data["first_party_files"]),
            import_sites=data["import_sites"],
            imported_by={ref: tuple(sites) for ref, sites in data["imported_by"].items()},
            hows={ref: tuple(hows) for ref, hows in data["hows"].items()},
            loose={path: {ref: tuple(s) for ref, s in refs.items()} for path, refs in data["loose"].items()},
            unreadable=tuple(data["unreadable"]),
            dynamic_loads=tuple(DynamicLoad(**d) for d in data.get("dynamic_loads", ())),
            loose_dynamic={path: tuple(DynamicLoad(**d) for d in loads) for path, loads in data.get("loose_dynamic", {}).items()},
            code_holders={kind: tuple(refs) for kind, refs in data.get("code_holders", {}).items()},
        )


def dynamic_note(loads: tuple[DynamicLoad, ...] | list[DynamicLoad]) -> str:
    """Why imports are unchecked when code loads modules by names vexxy cannot read: the count and the first site."""
    first = loads[0]
    return f"{len(loads)} places load code by a name vexxy cannot read (first `{first.where}`: {first.what})"


def code_holders(components: Iterable[Component]) -> dict[str, tuple[str, ...]]:
    """The components a dynamic load could bring in: any holding Python code or a shared object for a
    Python import or `exec`, any holding a shared object for `ctypes`."""
    python, shared = [], []
    for component in components:
        has_shared = any(_SHARED_OBJECT.search(f) for f in component.files)
        if has_shared or any(f.endswith((".py", ".pyc")) for f in component.files):
            python.append(component.ref)
        if has_shared:
            shared.append(component.ref)
    return {PYTHON_CODE: tuple(sorted(python)), SHARED_OBJECT: tuple(sorted(shared))}


def import_evidence(
    analysis: ImportAnalysis,
    entries: list[EntryPoint],
    language: str,
    loose: ImportAnalysis | None = None,
    unreadable: tuple[str, ...] = (),
    components: Iterable[Component] = (),
) -> ImportEvidence:
    """`loose`: the analysis of the image's other unowned Python files; `unreadable`: what the image
    reader itself could not read (added to the analysis' own list); `components`: the SBOM's, for what
    a dynamic load could bring in."""
    by_file: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for imported in loose.components if loose else ():
        for site in imported.sites:
            by_file[site.path][imported.component_ref].append(site.where)
    loose_dynamic: dict[str, list[DynamicLoad]] = defaultdict(list)
    for load in loose.dynamic if loose else ():
        loose_dynamic[load.path].append(load)
    return ImportEvidence(
        language=language,
        entrypoints=tuple({"argv": list(e.argv), "working_dir": e.working_dir} for e in entries),
        first_party_files=analysis.first_party_files,
        import_sites=len(analysis.sites),
        imported_by=analysis.imported_by(),
        hows={c.component_ref: tuple(dict.fromkeys(_how(s) for s in c.sites)) for c in analysis.components},
        loose={path: {ref: tuple(dict.fromkeys(s)) for ref, s in refs.items()} for path, refs in sorted(by_file.items())},
        unreadable=(*unreadable, *analysis.unreadable),
        dynamic_loads=analysis.dynamic,
        loose_dynamic={path: tuple(loads) for path, loads in sorted(loose_dynamic.items())},
        code_holders=code_holders(components),
    )


@dataclass(frozen=True)
class RunImports:
    imported_by: dict[str, tuple[str, ...]]  # what statements cite: first-party sites, and those of loose files the run loaded
    not_loaded: tuple[NotLoaded, ...]
    # component ref -> (`file:line`, construct) of each dynamic load that could bring in the component the run did not load
    dynamic_loads: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    dynamic: tuple[DynamicLoad, ...] = ()  # every dynamic load that counts: first-party, and of the files the run loaded
    checked: bool = False  # the evidence's verdict, unless a file the run loaded loads code vexxy cannot name
    note: str = ""


def against_run(evidence: ImportEvidence, usage: UsageReport) -> RunImports:
    imported_by = {ref: list(sites) for ref, sites in evidence.imported_by.items()}
    hows = {ref: list(h) for ref, h in evidence.hows.items()}
    for path in usage.unowned_paths:
        for ref, sites in evidence.loose.get(path, {}).items():
            imported_by.setdefault(ref, []).extend(s for s in sites if s not in imported_by[ref])
            hows.setdefault(ref, []).append("loaded unowned file")
    components = usage.by_ref()
    not_loaded = [
        NotLoaded(ref, components[ref].purl, tuple(sites), tuple(dict.fromkeys(hows.get(ref, ()))))
        for ref, sites in imported_by.items()
        if ref in components and components[ref].status == NOT_LOADED
    ]
    dynamic = _run_dynamic(evidence, usage)
    reach = {kind: set(refs) for kind, refs in evidence.code_holders.items()}
    dynamic_loads = {}
    for ref, component in components.items():
        could = tuple((d.where, d.what) for d in dynamic if ref in reach.get(d.loads, ()))
        if could and component.status == NOT_LOADED:
            dynamic_loads[ref] = could
    checked = evidence.checked and not dynamic
    return RunImports(
        imported_by={ref: tuple(sites) for ref, sites in imported_by.items()},
        not_loaded=tuple(sorted(not_loaded, key=lambda n: n.purl)),
        dynamic_loads=dynamic_loads,
        dynamic=dynamic,
        checked=checked,
        note=evidence.note or (dynamic_note(dynamic) if dynamic else ""),
    )


def _run_dynamic(evidence: ImportEvidence, usage: UsageReport) -> tuple[DynamicLoad, ...]:
    """First-party dynamic loads, those of loose files the run loaded, and the sourceless bytecode it
    loaded (the interpreter writes its caches only into `__pycache__`, which the mapping already pairs
    with their source: a `.pyc` elsewhere came with the image)."""
    loads = list(evidence.dynamic_loads)
    for path in usage.unowned_paths:
        loads += evidence.loose_dynamic.get(path, ())
        if path.endswith(".pyc"):
            loads.append(DynamicLoad(path, 0, BYTECODE))
    return tuple(dict.fromkeys(loads))
