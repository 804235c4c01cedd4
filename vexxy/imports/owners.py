"""Which SBOM component owns a Python module name.

The owner of `a.b.c` is the component owning the longest known prefix of it. Module names come
from each component's installed files under a `site-packages` or `dist-packages` directory (the
RECORD or dpkg list the SBOM already maps: `yaml/__init__.py` gives `yaml`, `_yaml.cpython-311-
x86_64-linux-gnu.so` gives `_yaml`) and from its `top_level.txt`. Namespace packages (`google`)
are owned by several components; a longer name (`google.protobuf`) tells them apart. The
interpreter's standard library is not mapped: it runs whenever Python does.
"""

from __future__ import annotations

import re
from collections import defaultdict

from vexxy.imports.image_files import ImageFiles
from vexxy.sbom.components import Component

_PACKAGE_DIRS = ("site-packages", "dist-packages")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_EXTENSION = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(\.[^.]+)*\.(py|pyc|so|pyd)$")
_METADATA_DIR = re.compile(r"\.(dist-info|egg-info|data)$")


def _module_of(relative: list[str]) -> str | None:
    """`['yaml', 'composer.py']` -> `yaml.composer`; None for metadata, scripts and the like."""
    if not relative or _METADATA_DIR.search(relative[0]) or relative[0] in ("__pycache__", "..", "bin"):
        return None
    *dirs, leaf = relative
    if not all(_IDENTIFIER.match(d) for d in dirs):
        return ".".join(d for d in dirs if _IDENTIFIER.match(d)) or None
    match = _EXTENSION.match(leaf)
    if match is None:
        return ".".join(dirs) or None
    name = match.group("name")
    return ".".join(dirs if name == "__init__" else [*dirs, name]) or None


def _relative_to_packages(path: str) -> list[str] | None:
    parts = path.strip("/").split("/")
    for index in range(len(parts) - 1, -1, -1):
        if parts[index] in _PACKAGE_DIRS:
            return parts[index + 1 :]
    return None


class ModuleOwners:
    def __init__(self) -> None:
        self._owners: dict[str, set[str]] = defaultdict(set)

    def add(self, module: str, component_ref: str) -> None:
        parts = module.split(".")
        for end in range(1, len(parts) + 1):
            self._owners[".".join(parts[:end])].add(component_ref)

    @classmethod
    def from_components(cls, components: list[Component], image: ImageFiles | None = None) -> ModuleOwners:
        owners = cls()
        for component in components:
            for path in component.files:
                relative = _relative_to_packages(path)
                module = _module_of(relative) if relative else None
                if module:
                    owners.add(module, component.ref)
                if image is not None and path.endswith((".dist-info/top_level.txt", ".egg-info/top_level.txt")):
                    try:
                        text = image.read_bytes(path, limit=64 * 1024).decode("utf-8", "replace")
                    except OSError:
                        continue
                    for line in text.splitlines():
                        name = line.strip().replace("/", ".")
                        if name and all(_IDENTIFIER.match(p) for p in name.split(".")):
                            owners.add(name, component.ref)
        return owners

    def owners_of(self, module: str) -> frozenset[str]:
        """The components owning the longest known prefix of `module` (empty when none does)."""
        parts = module.split(".")
        for end in range(len(parts), 0, -1):
            found = self._owners.get(".".join(parts[:end]))
            if found:
                return frozenset(found)
        return frozenset()
