"""Which component a loaded file is: by the path its package lists, by its content, or by what it looks like.

A path string alone is easy to fool: a workload can load a package from a copy, a rename, a zip
archive or bytecode under a cache prefix, and none of those paths is listed by the package. So each
loaded file is attributed, in this order:

1. **owned**: the canonical path is one the component lists (dpkg, RECORD, ...);
2. **bytecode**: a `.pyc` stands for its source, wherever the cache put it: `__pycache__/` beside
   the source, `x.pyc` beside `x.py`, or under any `pycache_prefix` (the prefix is not trusted to
   be known: every way of reading the path as prefix + source directory is tried);
3. **content**: the file's identity (sha256 taken when the workload opened it, or of the image's
   own file at that path) equals a component file's, or an archive the workload opened holds a
   member that does: a copy, a rename or a zipped copy is that package;
4. **look-alike**: unowned code whose module path ends like a component's (`*/yaml/__init__.py`)
   cannot be told apart from that component: the component can no longer be `not_affected`;
5. **unattributed**: code the workload loaded that is not in the image as it was built and is
   none of the above (written at run time, or changed): nobody can say what it is, so no
   component that holds code of that kind can be `not_affected`. A file the tracer saw written
   during the run (`CHANGED_MARK`) may have held something else when it was loaded than when it
   was hashed: it is never the image's own file, and a package's own file written so is
   unattributed as well (bytecode aside: the interpreter writes its cache).

A file of no code kind (`data`) names a package only by content: a package's source read as text
and executed is that package.

Files smaller than `MIN_IDENTITY_BYTES` (an empty `__init__.py`) never name a package by content.
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from vexxy.oci.layers.identity import ARCHIVE, BYTECODE, CHANGED_MARK, DATA, NATIVE, SOURCE, CodeIdentity, kind_of
from vexxy.oci.layers.symlinks import resolve
from vexxy.sbom.components import Component

_CACHED = re.compile(r"^(?P<dir>.*)/__pycache__/(?P<module>[^/.]+)\.[^/]+\.py[co]$")
_TAGGED = re.compile(r"^(?P<module>[^/.]+)\.[^/]+\.py[co]$")  # `name.cpython-311.pyc`, `name.cpython-311.opt-1.pyc`
_LEGACY = re.compile(r"^(?P<module>[^/.]+)\.py[co]$")
_SITE = re.compile(r"/(?:site-packages|dist-packages)/")
PYTHON_KINDS = frozenset({SOURCE, BYTECODE})


def source_candidates(path: str) -> list[str]:
    """The sources a bytecode path can stand for, most specific first (empty for anything else)."""
    cached = _CACHED.match(path)
    if cached:
        return [f"{cached.group('dir')}/{cached.group('module')}.py"]
    directory, name = posixpath.split(path)
    legacy = _LEGACY.match(name)
    if legacy:
        return [f"{directory}/{legacy.group('module')}.py"]
    tagged = _TAGGED.match(name)
    if not tagged:
        return []
    parts = [p for p in directory.split("/") if p]
    module = tagged.group("module") + ".py"
    # A cache prefix P holds `P/<source dir>/<name>.<tag>.pyc`: drop 1..n leading components of the directory.
    return ["/" + "/".join([*parts[drop:], module]) for drop in range(1, len(parts) + 1)]


def module_path(path: str) -> str | None:
    """`/usr/lib/python3/dist-packages/yaml/__init__.py` -> `yaml/__init__.py` (None outside a site directory)."""
    match = _SITE.search(path)
    return path[match.end() :] if match else None


def _code_kind(path: str, identity: CodeIdentity | None, executed: bool) -> str | None:
    found = identity.kind if identity is not None else kind_of(path)
    if found == DATA:
        found = None
    if found is None and executed:
        return NATIVE
    return found


@dataclass
class Attribution:
    """What the loaded files say of each component (by ref), and what nobody owns."""

    # ref -> owned file -> the observed paths that stand for it (the file, a link to it, its bytecode)
    owned: dict[str, dict[str, dict[str, None]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(dict)))
    copies: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))  # ref -> observed -> what it equals
    lookalikes: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))  # ref -> observed -> why
    unattributed: dict[str, str] = field(default_factory=dict)  # observed path -> its code kind


class Attributor:
    """Indexes of one image's components (paths, contents, module paths) to attribute loaded files against."""

    def __init__(
        self,
        components: Iterable[Component],
        symlinks: dict[str, str],
        image_code: dict[str, CodeIdentity] | None = None,
    ):
        self.symlinks = symlinks
        self.image_code = image_code or {}
        self.owner: dict[str, str] = {}
        self.kinds: dict[str, set[str]] = defaultdict(set)  # ref -> kinds of code it holds
        self.by_module: dict[str, set[str]] = defaultdict(set)  # module path (or a library's name) -> refs
        for component in components:
            for listed in component.files:
                canonical = resolve(listed, symlinks)
                self.owner.setdefault(canonical, component.ref)
                kind = kind_of(canonical)
                if kind is None:
                    continue
                self.kinds[component.ref].add(kind)
                module = module_path(canonical)
                if module is not None and kind in (SOURCE, NATIVE):
                    self.by_module[module].add(component.ref)  # `yaml/__init__.py`, `_yaml.cpython-311-x86_64-linux-gnu.so`
                elif kind == NATIVE:
                    self.by_module[posixpath.basename(canonical)].add(component.ref)  # `libyaml-0.so.2`
        self.by_content: dict[str, set[str]] = defaultdict(set)  # sha256 -> refs whose own file has it
        self.content_path: dict[str, str] = {}  # sha256 -> one owned path holding it (to cite)
        for path, identity in self.image_code.items():
            ref = self.owner.get(path) or self._owner_of_cache(path)
            if ref is None:
                continue
            if identity.kind != DATA:
                self.kinds[ref].add(identity.kind)
            if not identity.distinctive:
                continue
            self.by_content[identity.sha256].add(ref)
            self.content_path.setdefault(identity.sha256, path)

    def sources(self, path: str) -> list[str]:
        """The canonical sources a bytecode path can stand for (`source_candidates` through the image's links)."""
        return [resolve(source, self.symlinks) for source in source_candidates(path)]

    def _owner_of_cache(self, path: str) -> str | None:
        """The owner of the source a `__pycache__` file beside it stands for (dpkg does not list them)."""
        cached = _CACHED.match(path)
        return self.owner.get(resolve(f"{cached.group('dir')}/{cached.group('module')}.py", self.symlinks)) if cached else None

    def _looks_like(self, path: str) -> set[str]:
        parts = [p for p in path.split("/") if p]
        refs: set[str] = set()
        for start in range(len(parts)):
            refs |= self.by_module.get("/".join(parts[start:]), set())
        return refs

    def reach(self, kind: str) -> set[str]:
        """The components unattributed code of `kind` could be: those holding code of the same family."""
        if kind in PYTHON_KINDS:
            wanted = set(PYTHON_KINDS)
        elif kind == NATIVE:
            wanted = {NATIVE}
        else:
            wanted = {SOURCE, BYTECODE, NATIVE, ARCHIVE}
        return {ref for ref, kinds in self.kinds.items() if kinds & wanted}

    def attribute(
        self, observed: dict[str, dict[str, Any]], identities: dict[str, CodeIdentity], executed: set[str]
    ) -> Attribution:
        """`observed`: path -> observation (with the `sha256` of each content opened there, when recorded)."""
        found = Attribution()
        for path, info in observed.items():
            canonical = resolve(path, self.symlinks)
            seen = [identities[s] for s in info.get("sha256", ()) if s in identities]
            if not seen and canonical in self.image_code and not info.get("sha256"):
                seen = [self.image_code[canonical]]  # no content recorded (Kubernetes): the image's file at that path
            attributed = False
            ref = self.owner.get(canonical)
            if ref is not None:
                found.owned[ref][canonical][path] = None
                attributed = True
            sources = self.sources(canonical)
            for source in sources:
                if source in self.owner:
                    found.owned[self.owner[source]][source][path] = None
                    attributed = True
                    break
            for identity in seen:
                attributed |= self._by_content(found, path, identity, skip=ref)
            kind = _code_kind(canonical, seen[0] if seen else None, path in executed)
            changed = CHANGED_MARK in (info.get("sha256") or ())
            if ref is not None and changed and kind not in (None, BYTECODE):
                found.unattributed[path] = kind  # what it held when loaded is not known
            if ref is not None or kind is None:
                continue
            names = [canonical, *sources, *([path] if path != canonical else [])]
            for name in names:
                for similar in self._looks_like(name) - set(found.owned) - set(found.copies):
                    found.lookalikes[similar][path] = f"its module path ends like {similar!r}'s"
            if attributed or found_lookalike(found, path):
                continue
            in_image = self._in_image(canonical, info)
            if in_image or any(candidate in self.image_code for candidate in sources):
                continue  # the image's own unowned code: first-party, read by the import analysis
            found.unattributed[path] = kind
        # A component loaded by path or content is loaded, however much else looks like it.
        for ref in list(found.lookalikes):
            if ref in found.owned or ref in found.copies:
                del found.lookalikes[ref]
        return found

    def _in_image(self, canonical: str, info: dict[str, Any]) -> bool:
        """Whether the file opened is the image's own file at that path, as built."""
        built = self.image_code.get(canonical)
        if built is None:
            return False
        recorded = info.get("sha256")
        if recorded and CHANGED_MARK in recorded:
            return False  # written during the run: what was hashed may not be what was loaded
        return not recorded or built.sha256 in recorded

    def _by_content(self, found: Attribution, path: str, identity: CodeIdentity, skip: str | None) -> bool:
        hit = False
        if identity.distinctive:
            for ref in self.by_content.get(identity.sha256, ()):
                if ref != skip:
                    found.copies[ref][path] = f"same content as {self.content_path[identity.sha256]}"
                hit = True
        for member, digest in identity.members:
            for ref in self.by_content.get(digest, ()):
                found.copies[ref][f"{path}!/{member}"] = f"same content as {self.content_path[digest]}"
                hit = True
            for similar in self._looks_like(member):
                if similar not in found.copies:
                    found.lookalikes[similar][f"{path}!/{member}"] = f"its module path ends like {similar!r}'s"
        if identity.truncated:
            found.unattributed.setdefault(path, f"{ARCHIVE} ({identity.truncated})")
        return hit


def found_lookalike(found: Attribution, path: str) -> bool:
    return any(path in paths for paths in found.lookalikes.values())
