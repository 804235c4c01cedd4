"""HTTP routes first-party Python code declares with literal paths: Flask, FastAPI and Django.

Read statically (the code is never run): Flask `@app.route("/p", methods=[...])`, `@bp.get/post/...`
and `add_url_rule("/p", ...)`; FastAPI `@app.get/post/...("/p")` and `@router.api_route`; Django
`path("p/", view)` from `django.urls`. A `Blueprint(..., url_prefix="/x")` or `APIRouter(prefix="/x")`
assigned in the same file prefixes its routes. Converters (`<int:id>`) become `{id}`; only literal
paths count, anything computed is skipped.
"""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from pathlib import Path

from vexxy.declared_route import DeclaredRoute
from vexxy.imports.first_party import find_first_party
from vexxy.imports.image_files import ImageFiles
from vexxy.imports.registry_layers import read_image_files
from vexxy.imports.sites import EntryPoint
from vexxy.oci.image import ImageConfig, ResolvedImage
from vexxy.oci.registry_client import RegistryClient

DECORATOR_METHODS = {"get", "post", "put", "patch", "delete"}
_CONVERTER = re.compile(r"<(?:[A-Za-z_]\w*(?:\([^)]*\))?:)?([A-Za-z_]\w*)>")
_ROUTERS = {"Blueprint": "url_prefix", "APIRouter": "prefix"}
MAX_ROUTES_PER_FILE = 500
MAX_SOURCE_BYTES = 32 << 20  # first-party source read for routes, in all
MAX_FILE_BYTES = 256 << 10  # one file: parsing costs ~500 bytes of memory per byte of a long literal
_INSTALLED = re.compile(r"/(site-packages|dist-packages)/|/lib/python\d[\d.]*/")  # a console script's target, say


def _literal(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _keyword(call: ast.Call, name: str) -> ast.AST | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _methods(node: ast.AST | None) -> list[str]:
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [m.upper() for m in (_literal(e) for e in node.elts) if m]
    return ["GET"]


def _normalize(path: str) -> str:
    path = _CONVERTER.sub(lambda m: "{" + m.group(1) + "}", path)
    return "/" + path.lstrip("/")


def _receiver(node: ast.AST) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def _prefixes(tree: ast.Module) -> dict[str, str]:
    """`bp = Blueprint(..., url_prefix="/x")` / `router = APIRouter(prefix="/x")` -> {name: prefix}."""
    prefixes = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and len(node.targets) == 1:
            factory = _receiver(node.value.func)
            prefix = _literal(_keyword(node.value, _ROUTERS[factory])) if factory in _ROUTERS else None
            if prefix and isinstance(node.targets[0], ast.Name):
                prefixes[node.targets[0].id] = prefix.rstrip("/")
    return prefixes


def _django_path_names(tree: ast.Module) -> set[str]:
    """The local names `django.urls.path` is imported as."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("django.urls", "django.conf.urls"):
            names |= {alias.asname or alias.name for alias in node.names if alias.name == "path"}
    return names


def declared_routes(path: str, source: str | bytes) -> list[DeclaredRoute]:
    """The routes one first-party file declares; a file that does not parse declares none."""
    try:
        tree = ast.parse(source, filename=path)
    except (SyntaxError, ValueError, RecursionError):
        return []
    prefixes = _prefixes(tree)
    django_path = _django_path_names(tree)
    routes: list[DeclaredRoute] = []

    def add(methods: list[str], literal: str | None, receiver: str, line: int) -> None:
        if literal is not None and len(routes) < MAX_ROUTES_PER_FILE:
            full = (
                _normalize(prefixes.get(receiver, "") + "/" + literal.lstrip("/"))
                if receiver in prefixes
                else _normalize(literal)
            )
            routes.extend(DeclaredRoute(m, full, f"{path}:{line}") for m in methods)

    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute) and decorator.args):
                    continue
                name, receiver = decorator.func.attr, _receiver(decorator.func.value)
                literal = _literal(decorator.args[0])
                if literal is None or not (literal.startswith("/") or receiver in prefixes):
                    continue
                if name in ("route", "api_route"):
                    add(_methods(_keyword(decorator, "methods")), literal, receiver, decorator.lineno)
                elif name in DECORATOR_METHODS:
                    add([name.upper()], literal, receiver, decorator.lineno)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "add_url_rule":
                literal = _literal(node.args[0])
                if literal is not None and literal.startswith("/"):
                    add(_methods(_keyword(node, "methods")), literal, _receiver(func.value), node.lineno)
            elif isinstance(func, ast.Name) and func.id in django_path:
                view = node.args[1] if len(node.args) > 1 else _keyword(node, "view")
                included = isinstance(view, ast.Call) and _receiver(view.func) == "include"
                literal = _literal(node.args[0])
                if literal is not None and not included:
                    add(["GET"], literal, "", node.lineno)
    return routes


def first_party_routes(
    image: ImageFiles, entry: EntryPoint, owned: set[str] = frozenset(), max_bytes: int = MAX_SOURCE_BYTES
) -> tuple[list[DeclaredRoute], list[str]]:
    """The routes the application's own Python files declare, and what could not be read (with why)."""
    found = find_first_party(image, set(owned), entry)
    routes: list[DeclaredRoute] = []
    notes = list(found.incomplete)
    budget = max_bytes
    for path in sorted(p for p in found.files if p.endswith(".py") and not _INSTALLED.search(p)):
        try:
            source = image.read_bytes(path)
        except OSError as error:
            notes.append(f"{path}: not read ({error.strerror or error})")
            continue
        if len(source) > MAX_FILE_BYTES:
            notes.append(f"{path}: larger than {MAX_FILE_BYTES} bytes, not read for routes")
            continue
        budget -= len(source)
        if budget < 0:
            notes.append(f"first-party sources beyond {max_bytes} bytes were not read for routes, from {path} on")
            break
        routes += declared_routes(path, source)
    return routes, notes


def registry_routes(client: RegistryClient, image: ResolvedImage) -> tuple[list[DeclaredRoute], list[str]]:
    """`first_party_routes` of an image read straight from its layer blobs (a client of its own: this may run
    beside other registry reads); never raises, what went wrong is the note."""
    own = replace(client, _authorization={})
    try:
        files = read_image_files(own, image)
        config = image.config
        return first_party_routes(files, EntryPoint(tuple(config.entrypoint + config.cmd), config.working_dir or "/"))
    except Exception as error:  # the image's layers are the image's word: any failure is a note, never the analysis'
        return [], [f"first-party code not read for routes: {str(error)[:200]}"]
    finally:
        own.close()


def rootfs_routes(root: Path, symlinks: dict[str, str], config: ImageConfig) -> tuple[list[DeclaredRoute], list[str]]:
    """`first_party_routes` of an unpacked image, read through the image's own links; never fatal."""
    try:
        entry = EntryPoint(tuple(list(config.entrypoint) + list(config.cmd)), config.working_dir or "/")
        return first_party_routes(ImageFiles(root, symlinks), entry)
    except (OSError, ValueError, RecursionError) as error:
        return [], [f"first-party code not read for routes: {error}"]
