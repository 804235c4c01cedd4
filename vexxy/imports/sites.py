"""An import found in first-party code, and the interface every language's source implements.

A runtime profile only shows the paths a run reached; an import site shows what the application
can reach. Each language (Python today; Node `require`/`import` or Java later) is one
`ImportSource` that finds the application's own files and the components they import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from vexxy.imports.image_files import ImageFiles
from vexxy.sbom.components import Component


@dataclass(frozen=True)
class ImportSite:
    """`module` named at `path:line`, and how (`import`, `from`, `importlib`, `setting:INSTALLED_APPS`, ...)."""

    module: str
    path: str
    line: int
    how: str
    guarded: bool = False  # inside `try: ... except ImportError`
    scope: str = "module"  # module | function NAME | class NAME

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


PYTHON_CODE, SHARED_OBJECT = "python", "shared_object"  # what a dynamic load can bring in
BYTECODE = "bytecode shipped without its source"


@dataclass(frozen=True)
class DynamicLoad:
    """Code loaded at `path:line` by a name vexxy cannot read (`what`: the construct), or first-party
    bytecode shipped without its source (`line` 0): the source does not say what it loads. `loads`:
    `python` (any module: source, bytecode or extension) or `shared_object` (ctypes)."""

    path: str
    line: int
    what: str
    loads: str = PYTHON_CODE

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True)
class EntryPoint:
    """How the image starts: the full argv (entrypoint + cmd) and the working directory."""

    argv: tuple[str, ...]
    working_dir: str = "/"


@dataclass(frozen=True)
class ComponentImport:
    """A component of the SBOM that first-party code imports, with every site that does."""

    component_ref: str
    sites: tuple[ImportSite, ...]


@dataclass(frozen=True)
class ImportAnalysis:
    first_party_files: tuple[str, ...]
    sites: tuple[ImportSite, ...]
    components: tuple[ComponentImport, ...]
    unreadable: tuple[str, ...]  # first-party files (or trees) that could not be read, with the reason
    dynamic: tuple[DynamicLoad, ...] = ()  # sites loading code by a name vexxy cannot read

    def by_ref(self) -> dict[str, ComponentImport]:
        return {c.component_ref: c for c in self.components}

    def imported_by(self) -> dict[str, tuple[str, ...]]:
        """component ref -> its import sites as `file:line` (what a VEX statement cites)."""
        return {c.component_ref: tuple(dict.fromkeys(s.where for s in c.sites)) for c in self.components}


def merged(analyses: list[ImportAnalysis]) -> ImportAnalysis:
    """One analysis of several entrypoints of one image (the roles an analysis runs): the union of each."""
    sites = tuple(dict.fromkeys(site for analysis in analyses for site in analysis.sites))
    by_ref: dict[str, dict[ImportSite, None]] = {}
    for analysis in analyses:
        for component in analysis.components:
            by_ref.setdefault(component.component_ref, {}).update(dict.fromkeys(component.sites))
    return ImportAnalysis(
        first_party_files=tuple(sorted({f for analysis in analyses for f in analysis.first_party_files})),
        sites=sites,
        components=tuple(ComponentImport(ref, tuple(found)) for ref, found in sorted(by_ref.items())),
        unreadable=tuple(dict.fromkeys(u for analysis in analyses for u in analysis.unreadable)),
        dynamic=tuple(dict.fromkeys(load for analysis in analyses for load in analysis.dynamic)),
    )


class ImportSource(Protocol):
    """One language: finds the first-party files, reads their imports, maps them to components."""

    language: str

    def analyze(self, image: ImageFiles, components: list[Component], entry: EntryPoint) -> ImportAnalysis: ...
