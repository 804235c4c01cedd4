"""The Python `ImportSource`: first-party files, their import sites, and the components imported."""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Iterable

from vexxy.imports.first_party import MAX_FILES, find_first_party
from vexxy.imports.image_files import ImageFiles
from vexxy.imports.owners import ModuleOwners
from vexxy.imports.python_ast import Unparsable, entry_point_imports, python_imports
from vexxy.imports.sites import ComponentImport, EntryPoint, ImportAnalysis, ImportSite
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
        unreadable: list[str] = list(first_party.incomplete)
        for label, code in first_party.inline:
            try:
                sites += python_imports(code, label)
            except Unparsable as error:
                unreadable.append(str(error))
        for path in sorted(first_party.files):
            try:
                content = image.read_bytes(path)
                if posixpath.basename(path) in ("entry_points.txt", "setup.cfg"):
                    sites += entry_point_imports(content.decode("utf-8", "replace"), path)
                else:
                    sites += python_imports(content, path, first_party.package_of(path))
            except (OSError, Unparsable) as error:
                unreadable.append(str(error))
        return _mapped(image, components, tuple(sorted(first_party.files)), sites, unreadable)

    def analyze_files(self, image: ImageFiles, components: list[Component], paths: Iterable[str]) -> ImportAnalysis:
        """The imports of other Python files as they stand (no package context: relative imports are not followed)."""
        sites: list[ImportSite] = []
        unreadable: list[str] = []
        for path in sorted(paths):
            try:
                sites += python_imports(image.read_bytes(path), path)
            except (OSError, Unparsable) as error:
                unreadable.append(str(error))
        return _mapped(image, components, tuple(sorted(paths)), sites, unreadable)


def _mapped(
    image: ImageFiles, components: list[Component], files: tuple[str, ...], sites: list[ImportSite], unreadable: list[str]
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
    )
