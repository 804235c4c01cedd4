"""Python imports read with `ast`, at every level, without running the code.

Beyond `import` and `from ... import` anywhere (module, function and class bodies, `if` branches,
`try/except ImportError`), modules are named as strings: `importlib.import_module("x")`,
`__import__("x")`, Django settings (`INSTALLED_APPS`, `MIDDLEWARE`, backends), Celery `include`
and `imports`, Flask `config.from_object("x")`, and `module:attr` entry points.
"""

from __future__ import annotations

import ast
import configparser
import re

from vexxy.imports.sites import ImportSite

DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
ENTRY_POINT = re.compile(r"^\s*(?:[^=\s]+\s*=\s*)?(?P<module>[A-Za-z_][\w.]*)\s*(?::\s*[\w.]+)?\s*(?:\[.*\])?\s*$")

# Settings whose string values name modules (or objects inside modules).
SETTINGS = frozenset(
    {
        "INSTALLED_APPS",
        "MIDDLEWARE",
        "MIDDLEWARE_CLASSES",
        "AUTHENTICATION_BACKENDS",
        "ROOT_URLCONF",
        "WSGI_APPLICATION",
        "ASGI_APPLICATION",
        "TEMPLATES",
        "DATABASES",
        "CACHES",
        "PASSWORD_HASHERS",
        "DEFAULT_AUTO_FIELD",
        "SESSION_ENGINE",
        "EMAIL_BACKEND",
        "LOGGING",
        "CELERY_IMPORTS",
        "CELERY_INCLUDE",
        "REST_FRAMEWORK",
    }
)
# Keyword arguments and attributes whose string values name modules.
MODULE_KEYWORDS = frozenset({"include", "imports"})
IMPORTLIB_FUNCTIONS = frozenset({"import_module", "__import__"})
STRING_CALLS = frozenset({"from_object", "autodiscover_tasks", "load_extension"})

IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})


class Unparsable(Exception):
    """A first-party file that is not Python `ast` can read (its imports are unknown)."""


def _strings(node: ast.AST) -> list[tuple[str, int]]:
    """Every string constant inside a literal value (lists, tuples, sets, dicts, nested)."""
    found = []
    for child in ast.walk(node):
        if isinstance(child, ast.Constant) and isinstance(child.value, str):
            found.append((child.value, child.lineno))
    return found


_MODULE_VALUED_KEY = re.compile(r"^(ENGINE|BACKEND|class|.*_(CLASS|BACKEND|ENGINE|MODULE))$")


def _setting_strings(node: ast.AST) -> list[tuple[str, int]]:
    """Strings of a settings value that can name modules: list items, and dict values under keys such
    as `ENGINE`, `BACKEND`, `class` (a database `NAME` or a `default` key is not a module)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [(node.value, node.lineno)]
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [found for element in node.elts for found in _setting_strings(element)]
    if isinstance(node, ast.Dict):
        found = []
        for key, value in zip(node.keys, node.values, strict=True):
            plain = isinstance(value, ast.Constant)
            named = isinstance(key, ast.Constant) and isinstance(key.value, str) and _MODULE_VALUED_KEY.match(key.value)
            if not plain or named:
                found += _setting_strings(value)
        return found
    if isinstance(node, ast.BinOp):
        return _setting_strings(node.left) + _setting_strings(node.right)
    return []


def _module_names(strings: list[tuple[str, int]]) -> list[tuple[str, int]]:
    return [(s.strip(), line) for s, line in strings if DOTTED.match(s.strip())]


def _resolve_relative(module: str | None, level: int, package: str) -> str | None:
    """`from ..x import y` inside `package` -> `parent.x` (None when it climbs above the package)."""
    if level == 0:
        return module
    parts = package.split(".") if package else []
    if level - 1 > len(parts) or not parts:
        return None
    base = parts[: len(parts) - (level - 1)]
    return ".".join(base + ([module] if module else [])) or None


def _handles_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(
        (isinstance(n, ast.Name) and n.id in IMPORT_ERRORS) or (isinstance(n, ast.Attribute) and n.attr in IMPORT_ERRORS)
        for n in names
    )


class _Visitor(ast.NodeVisitor):
    def __init__(self, path: str, package: str):
        self.path = path
        self.package = package
        self.sites: list[ImportSite] = []
        self.scopes: list[str] = []
        self.guards = 0

    def _add(self, module: str | None, line: int, how: str) -> None:
        if module:
            scope = self.scopes[-1] if self.scopes else "module"
            self.sites.append(ImportSite(module, self.path, line, how, self.guards > 0, scope))

    def _scoped(self, label: str, node: ast.AST) -> None:
        self.scopes.append(label)
        self.generic_visit(node)
        self.scopes.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._scoped(f"function {node.name}", node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._scoped(f"function {node.name}", node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._scoped(f"class {node.name}", node)

    def visit_Try(self, node: ast.Try) -> None:
        guarded = any(_handles_import_error(h) for h in node.handlers)
        self.guards += guarded
        for statement in node.body:
            self.visit(statement)
        self.guards -= guarded
        for part in (*node.handlers, *node.orelse, *node.finalbody):
            self.visit(part)

    visit_TryStar = visit_Try

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno, "import")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = _resolve_relative(node.module, node.level, self.package)
        if base is None:
            return
        for alias in node.names:
            # `from pkg import sub` may name a submodule: record the longer name, the owner lookup
            # falls back to its longest known prefix.
            self._add(base if alias.name == "*" else f"{base}.{alias.name}", node.lineno, "from")

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        first = node.args[0] if node.args else None
        literal = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
        if name in IMPORTLIB_FUNCTIONS and literal is not None:
            module = literal
            if literal.startswith("."):
                anchor = node.args[1] if len(node.args) > 1 else None
                package = anchor.value if isinstance(anchor, ast.Constant) and isinstance(anchor.value, str) else ""
                level = len(literal) - len(literal.lstrip("."))
                module = _resolve_relative(literal.lstrip(".") or None, level, package) if package else None
            if module and DOTTED.match(module):
                self._add(module, node.lineno, "importlib" if name == "import_module" else "__import__")
        elif name in STRING_CALLS:
            for arg in node.args:
                for module, line in _module_names(_strings(arg)):
                    self._add(module, line, f"call:{name}")
        for keyword in node.keywords:
            if keyword.arg in MODULE_KEYWORDS:
                for module, line in _module_names(_strings(keyword.value)):
                    self._add(module, line, f"keyword:{keyword.arg}")
            elif keyword.arg == "entry_points":
                for text, line in _strings(keyword.value):
                    match = ENTRY_POINT.match(text) if "=" in text else None
                    if match:
                        self._add(match.group("module"), line, "entry_point")
        self.generic_visit(node)

    def _assigned(self, targets: list[ast.expr], value: ast.expr | None) -> None:
        if value is None:
            return
        for target in targets:
            name = (
                target.id
                if isinstance(target, ast.Name)
                else target.attr
                if isinstance(target, ast.Attribute)
                else target.slice.value
                if isinstance(target, ast.Subscript)
                and isinstance(target.slice, ast.Constant)
                and isinstance(target.slice.value, str)
                else ""
            )
            if name in SETTINGS or name in MODULE_KEYWORDS:
                for module, line in _module_names(_setting_strings(value)):
                    self._add(module, line, f"setting:{name}")

    def visit_Assign(self, node: ast.Assign) -> None:
        self._assigned(node.targets, node.value)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._assigned([node.target], node.value)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._assigned([node.target], node.value)
        self.generic_visit(node)


def python_imports(source: bytes | str, path: str, package: str = "") -> list[ImportSite]:
    """Every import site in one file; `package` is the file's own package (for relative imports)."""
    try:
        tree = ast.parse(source, filename=path)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        raise Unparsable(f"{path}: {type(error).__name__}: {error}") from None
    visitor = _Visitor(path, package)
    try:
        visitor.visit(tree)
    except RecursionError:
        raise Unparsable(f"{path}: nested too deeply to read") from None
    return sorted(visitor.sites, key=lambda s: (s.line, s.module, s.how))


def entry_point_imports(text: str, path: str) -> list[ImportSite]:
    """Modules named by an `entry_points.txt` or `setup.cfg` (`name = module:attr` lines)."""
    parser = configparser.ConfigParser(interpolation=None, strict=False, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment]
    try:
        parser.read_string(text, source=path)
    except configparser.Error as error:
        raise Unparsable(f"{path}: {error}") from None
    sites = []
    lines = text.splitlines()
    for section in parser.sections():
        for key, value in parser.items(section):
            for entry in [value] if section != "options.entry_points" else value.splitlines():
                candidate = entry if section == "options.entry_points" else f"{key} = {entry}"
                match = ENTRY_POINT.match(candidate) if ":" in candidate else None
                if match:
                    module = match.group("module")
                    named = re.compile(rf"=\s*{re.escape(module)}\s*(:|$)")
                    line = next((i + 1 for i, text_line in enumerate(lines) if named.search(text_line)), 0)
                    sites.append(ImportSite(module, path, line, "entry_point"))
    return sites
