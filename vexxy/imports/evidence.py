"""The import evidence of an image, and what it says once set against what a run loaded.

Read from the image alone (so it runs while the sandbox observes): the first-party files the
entrypoint reaches and the components they import, plus the imports of every other unowned Python
file (`loose`), which count once the run is seen loading that file. Set against the run, it gives
what the VEX statements cite (`imported_by`) and the components imported but never loaded, each a
path the observation did not reach. Only when the imports were read in full may a component no
first-party code imports be `not_affected` with high confidence.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from vexxy.evidence.mapping import NOT_LOADED, UsageReport
from vexxy.imports.sites import EntryPoint, ImportAnalysis, ImportSite


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

    @property
    def checked(self) -> bool:
        """First-party code was found and all of it was read: `imported_by` is the whole list."""
        return bool(self.first_party_files) and not self.unreadable

    @property
    def note(self) -> str:
        """Why the imports were not checked (empty when they were)."""
        if self.unreadable:
            return f"{len(self.unreadable)} first-party files or trees could not be read ({self.unreadable[0]})"
        if not self.first_party_files:
            return "no first-party Python code was found in the image"
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
        )


def import_evidence(
    analysis: ImportAnalysis,
    entries: list[EntryPoint],
    language: str,
    loose: ImportAnalysis | None = None,
    unreadable: tuple[str, ...] = (),
) -> ImportEvidence:
    """`loose`: the analysis of the image's other unowned Python files; `unreadable`: what the image
    reader itself could not read (added to the analysis' own list)."""
    by_file: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for imported in loose.components if loose else ():
        for site in imported.sites:
            by_file[site.path][imported.component_ref].append(site.where)
    return ImportEvidence(
        language=language,
        entrypoints=tuple({"argv": list(e.argv), "working_dir": e.working_dir} for e in entries),
        first_party_files=analysis.first_party_files,
        import_sites=len(analysis.sites),
        imported_by=analysis.imported_by(),
        hows={c.component_ref: tuple(dict.fromkeys(_how(s) for s in c.sites)) for c in analysis.components},
        loose={path: {ref: tuple(dict.fromkeys(s)) for ref, s in refs.items()} for path, refs in sorted(by_file.items())},
        unreadable=(*unreadable, *analysis.unreadable),
    )


@dataclass(frozen=True)
class RunImports:
    imported_by: dict[str, tuple[str, ...]]  # what statements cite: first-party sites, and those of loose files the run loaded
    not_loaded: tuple[NotLoaded, ...]


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
    return RunImports(
        imported_by={ref: tuple(sites) for ref, sites in imported_by.items()},
        not_loaded=tuple(sorted(not_loaded, key=lambda n: n.purl)),
    )
