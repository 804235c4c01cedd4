"""The Python `ImportSource`: first-party files, their import sites, and the components imported."""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Iterable

from vexxy.imports.first_party import MAX_FILES, find_first_party
from vexxy.imports.image_files import ImageFiles
from vexxy.imports.owners import ModuleOwners
from vexxy.imports.python_ast import Unparsable, entry_point_imports, read_python
from vexxy.imports.sites import BYTECODE, ComponentImport, DynamicLoad, EntryPoint, ImportAnalysis, ImportSite
from vexxy.sbom.components import Component


class PythonImports:
    language = "python"

    def __init__(self, loaded_unowned: Iterable[str] = (), max_files: int = MAX_FILES):
        self.loaded_unowned = tuple(loaded_unowned)
        self.max_files = max_files

    def analyze(self, image: ImageFiles, components: list[Component], entry: EntryPoint) -> ImportAnalysis:
        owned = {image.canonical(f) for c in components for f in c.files}
        first_party = find_first_party(image, owned, entry, self.loaded_unowned, self.max_files)
        sites: list[ImportSite] = []
        dynamic = [DynamicLoad(path, 0, BYTECODE) for path in sorted(first_party.bytecode)]
        unreadable: list[str] = list(first_party.incomplete)
        for label, code in first_party.inline:
            try:
                found, loads = read_python(code, label)
                sites += found
                dynamic += loads
            except Unparsable as error:
                unreadable.append(str(error))
        for path in sorted(first_party.files):
            try:
                content = image.read_bytes(path)
                if posixpath.basename(path) in ("entry_points.txt", "setup.cfg"):
                    sites += entry_point_imports(content.decode("utf-8", "replace"), path)
                else:
                    found, loads = read_python(content, path, first_party.package_of(path))
                    sites += found
                    dynamic += loads
            except (OSError, Unparsable) as error:
                unreadable.append(str(error))
        files = tuple(sorted(first_party.files | first_party.bytecode))
        return _mapped(image, components, files, sites, unreadable, dynamic)

    def analyze_files(self, image: ImageFiles, components: list[Component], paths: Iterable[str]) -> ImportAnalysis:
        """The imports of other Python files as they stand (no package context: relative imports are not followed)."""
        sites: list[ImportSite] = []
        dynamic: list[DynamicLoad] = []
        unreadable: list[str] = []
        for path in sorted(paths):
            try:
                found, loads = read_python(image.read_bytes(path), path)
                sites += found
                dynamic += loads
            except (OSError, Unparsable) as error:
                unreadable.append(str(error))
        return _mapped(image, components, tuple(sorted(paths)), sites, unreadable, dynamic)


def _mapped(
    image: ImageFiles,
    components: list[Component],
    files: tuple[str, ...],
    sites: list[ImportSite],
    unreadable: list[str],
    dynamic: list[DynamicLoad],
) -> ImportAnalysis:
    owners = ModuleOwners.from_components(components, image)
    by_ref: dict[str, list[ImportSite]] = defaultdict(list)
    for site in sites:
        for ref in owners.owners_of(site.module):
            by_ref[ref].append(site)
    return ImportAnalysis(
        first_party_files=files,
        sites=tuple(sites),
        components=tuple(ComponentImport(ref, tuple(s)) for ref, s in sorted(by_ref.items())),
        unreadable=tuple(unreadable),
        dynamic=tuple(dynamic),
    )
