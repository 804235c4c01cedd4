"""Python imports read with `ast`, at every level, without running the code.

Beyond `import` and `from ... import` anywhere (module, function and class bodies, `if` branches,
`try/except ImportError`), modules are named as strings: `importlib.import_module("x")`,
`__import__("x")`, `runpy.run_module("x")`, Django settings (`INSTALLED_APPS`, `MIDDLEWARE`,
backends), Celery `include` and `imports`, Flask `config.from_object("x")`, and `module:attr` entry
points. Code loaded by a name the source does not spell out (a computed `__import__` or
`import_module`, `exec` of computed source, a file or archive loader, `ctypes` of a computed path,
a computed `sys.path` entry, a finder on `sys.meta_path`) is recorded as a `DynamicLoad`: what it
loads is unknown, so the file's imports are not the whole story.
"""

from __future__ import annotations

import ast
import configparser
import re

from vexxy.imports.sites import PYTHON_CODE, SHARED_OBJECT, DynamicLoad, ImportSite

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

BUILTINS = frozenset({"builtins", "__builtins__"})
# Modules whose attributes, fetched by a computed name, can be an importer or `exec`.
IMPORTING_MODULES = BUILTINS | {"importlib", "imp"}
EXEC_FUNCTIONS = frozenset({"exec", "eval", "compile"})
# Calls that load a module from a file, an archive or a spec, whatever their arguments say.
FILE_LOADERS = {
    "spec_from_file_location": "`importlib.util.spec_from_file_location`",
    "SourceFileLoader": "`importlib.machinery.SourceFileLoader`",
    "SourcelessFileLoader": "`importlib.machinery.SourcelessFileLoader`",
    "ExtensionFileLoader": "`importlib.machinery.ExtensionFileLoader`",
    "zipimporter": "`zipimport.zipimporter`",
    "load_source": "`imp.load_source`",
    "load_compiled": "`imp.load_compiled`",
    "load_dynamic": "`imp.load_dynamic`",
    "load_package": "`imp.load_package`",
    "load_module": "`load_module`",
    "run_path": "`runpy.run_path`",
}
CTYPES_LOADERS = frozenset({"CDLL", "PyDLL", "WinDLL", "OleDLL", "LoadLibrary"})
IMPORT_PATHS = frozenset({"path", "meta_path", "path_hooks"})  # `sys.` lists that decide where imports come from
# Path expressions fixed by the file's own location (`os.path.dirname(__file__)`, `Path(__file__).parent`).
ARCHIVES = (".zip", ".egg", ".whl", ".pyz")  # `sys.path` entries Python imports from with `zipimport`
PATH_MODULES = frozenset({"os", "path", "pathlib"})
PATH_FUNCTIONS = frozenset(
    {"dirname", "join", "abspath", "realpath", "normpath", "Path", "PurePath", "str", "fspath", "getcwd", "resolve"}
    | {"absolute", "joinpath", "expanduser"}
)


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


def _literal(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and all(isinstance(v, ast.Constant) for v in node.values):
        return "".join(str(v.value) for v in node.values if isinstance(v, ast.Constant))
    return None


def _literal_prefix(node: ast.AST) -> str:
    """The literal start of a computed string: `"plugins." + name` or `f"plugins.{name}"` -> `plugins.`."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _literal(node.left) or _literal_prefix(node.left)
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        return str(node.values[0].value)
    return ""


def _name_of(node: ast.AST) -> str:
    return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""


def _first_argument(node: ast.Call, keyword: str) -> ast.expr | None:
    if node.args:
        return node.args[0]
    return next((k.value for k in node.keywords if k.arg == keyword), None)


def _is_sys_list(node: ast.AST) -> str:
    """`path`, `meta_path` or `path_hooks` for `sys.path` and its kin, else empty."""
    if isinstance(node, ast.Attribute) and node.attr in IMPORT_PATHS and _name_of(node.value) == "sys":
        return node.attr
    return ""


class _Visitor(ast.NodeVisitor):
    def __init__(self, path: str, package: str):
        self.path = path
        self.package = package
        self.sites: list[ImportSite] = []
        self.dynamic: list[DynamicLoad] = []
        self.scopes: list[str] = []
        self.guards = 0
        self.called: set[int] = set()  # ids of the expressions called (an importer named as a call)
        self.path_names: set[str] = set()  # names bound to paths fixed by the file's location
        self.archive_names: set[str] = set()  # names bound to paths of archives (`/tmp/x.zip`)

    def _dynamic(self, line: int, what: str, loads: str = PYTHON_CODE) -> None:
        self.dynamic.append(DynamicLoad(self.path, line, what, loads))

    def _static_path(self, node: ast.AST) -> bool:
        """A path a reader can tell: literals, `__file__`, the working directory, and what they build."""
        if isinstance(node, ast.Constant):
            return isinstance(node.value, str)
        if isinstance(node, ast.Name):
            return node.id == "__file__" or node.id in self.path_names
        if isinstance(node, ast.JoinedStr):
            return all(self._static_path(v) for v in node.values)
        if isinstance(node, ast.FormattedValue):
            return self._static_path(node.value)
        if isinstance(node, ast.BinOp):
            return isinstance(node.op, (ast.Add, ast.Div)) and self._static_path(node.left) and self._static_path(node.right)
        if isinstance(node, ast.Attribute):
            return node.attr in ("parent", "curdir") and (node.attr == "curdir" or self._static_path(node.value))
        if isinstance(node, ast.Subscript):
            return isinstance(node.value, ast.Attribute) and node.value.attr == "parents" and self._static_path(node.value.value)
        if isinstance(node, ast.Call):
            func = node.func  # `os.path.dirname(...)`, `Path(...)`, or a method of a fixed path (`.resolve()`)
            receiver_fixed = not isinstance(func, ast.Attribute) or (
                _name_of(func.value) in PATH_MODULES or self._static_path(func.value)
            )
            return (
                _name_of(node.func) in PATH_FUNCTIONS
                and receiver_fixed
                and all(self._static_path(a) for a in node.args)
                and not node.keywords
            )
        if isinstance(node, (ast.List, ast.Tuple)):
            return all(self._static_path(e) for e in node.elts)
        return False

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

    def _inline_source(self, node: ast.Call, name: str, source: str | bytes) -> None:
        """`exec("import x")`: the literal is code, read like the file around it (at the call's line)."""
        try:
            tree = ast.parse(source, mode="eval" if name == "eval" else "exec")
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            self._dynamic(node.lineno, f"`{name}` of source vexxy cannot parse")
            return
        inner = _Visitor(self.path, self.package)
        inner.scopes, inner.guards = list(self.scopes), self.guards
        inner.visit(tree)
        self.sites += [ImportSite(s.module, s.path, node.lineno, f"{name}:{s.how}", s.guarded, s.scope) for s in inner.sites]
        self.dynamic += [DynamicLoad(d.path, node.lineno, d.what, d.loads) for d in inner.dynamic]

    def _dynamic_call(self, node: ast.Call, name: str) -> bool:
        """Record a call that loads code by a name vexxy cannot read; True when it was one."""
        func = node.func
        receiver = _name_of(func.value) if isinstance(func, ast.Attribute) else ""
        if name in IMPORTLIB_FUNCTIONS:
            argument = _first_argument(node, "name")
            if argument is None or _literal(argument) is not None:
                return False
            prefix = _literal_prefix(argument)
            package = prefix.rsplit(".", 1)[0] if "." in prefix else ""
            if package and DOTTED.match(package):  # `import_module("plugins." + name)`: some module of `plugins`
                self._add(package, node.lineno, "importlib prefix" if name == "import_module" else "__import__ prefix")
            else:
                shown = "`__import__`" if name == "__import__" else "`importlib.import_module`"
                self._dynamic(node.lineno, f"{shown} with a computed name")
            return True
        if name in EXEC_FUNCTIONS and (isinstance(func, ast.Name) or receiver in BUILTINS):
            argument = _first_argument(node, "source")
            if isinstance(argument, ast.Constant) and isinstance(argument.value, (str, bytes)):
                self._inline_source(node, name, argument.value)
            elif not (isinstance(argument, ast.Call) and _name_of(argument.func) == "compile"):
                self._dynamic(node.lineno, f"`{name}` of computed source")
            return True
        if name == "run_module":
            module = _literal(_first_argument(node, "mod_name"))
            if module is not None and DOTTED.match(module):
                self._add(module, node.lineno, "runpy")
            else:
                self._dynamic(node.lineno, "`runpy.run_module` with a computed name")
            return True
        if name in FILE_LOADERS and (name != "load_module" or receiver not in ("", "self")):
            self._dynamic(node.lineno, f"{FILE_LOADERS[name]} loads a module from a file")
            return True
        if name in CTYPES_LOADERS:
            argument = _first_argument(node, "name")
            if isinstance(argument, ast.Call) and _name_of(argument.func) == "find_library":  # `find_library("ssl")`
                argument = argument.args[0] if argument.args else None
            named = _literal(argument) is not None or (isinstance(argument, ast.Constant) and argument.value is None)
            if not named:
                self._dynamic(node.lineno, f"`ctypes.{name}` of a computed path", SHARED_OBJECT)
            return True
        if name == "getattr" and len(node.args) >= 2 and _name_of(node.args[0]) in IMPORTING_MODULES:
            attribute = _literal(node.args[1])
            if attribute is None:
                self._dynamic(node.lineno, f"`getattr` on `{_name_of(node.args[0])}` with a computed name")
            elif attribute in IMPORTLIB_FUNCTIONS | EXEC_FUNCTIONS:
                self._dynamic(node.lineno, f"`{attribute}` fetched with `getattr`")
            return True
        listed = _is_sys_list(func.value) if isinstance(func, ast.Attribute) else ""
        if listed and name in ("append", "insert", "extend"):
            self._sys_list_changed(listed, node.args[-1] if node.args else None, node.lineno)
            return True
        return False

    def _sys_list_changed(self, listed: str, value: ast.AST | None, line: int) -> None:
        if listed != "path":
            self._dynamic(line, f"a finder added to `sys.{listed}`")
        elif value is not None and not self._static_path(value):
            self._dynamic(line, "`sys.path` extended with a computed path")
        elif value is not None and self._names_archive(value):
            self._dynamic(line, "an archive added to `sys.path` (imported with `zipimport`)")

    def _names_archive(self, value: ast.AST) -> bool:
        return any(
            (isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.lower().endswith(ARCHIVES))
            or (isinstance(n, ast.Name) and n.id in self.archive_names)
            for n in ast.walk(value)
        )

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        self.called.add(id(func))
        first = node.args[0] if node.args else None
        literal = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
        if self._dynamic_call(node, name):
            pass
        elif name in IMPORTLIB_FUNCTIONS and literal is not None:
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

    def _import_paths_assigned(self, targets: list[ast.expr], value: ast.expr, line: int) -> None:
        for target in targets:
            listed = _is_sys_list(target.value if isinstance(target, ast.Subscript) else target)
            if listed:
                self._sys_list_changed(listed, value, line)
            elif isinstance(target, ast.Name) and self._static_path(value):
                self.path_names.add(target.id)
                if self._names_archive(value):
                    self.archive_names.add(target.id)

    def visit_Assign(self, node: ast.Assign) -> None:
        self._assigned(node.targets, node.value)
        self._import_paths_assigned(node.targets, node.value, node.lineno)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._assigned([node.target], node.value)
        self._import_paths_assigned([node.target], node.value, node.lineno)
        self.generic_visit(node)

    def _importer_as_value(self, node: ast.Name | ast.Attribute, name: str) -> None:
        """`load = importlib.import_module`: an importer passed around is called with names vexxy cannot follow."""
        if name in IMPORTLIB_FUNCTIONS and isinstance(node.ctx, ast.Load) and id(node) not in self.called:
            self._dynamic(node.lineno, f"`{name}` used as a value")

    def visit_Name(self, node: ast.Name) -> None:
        self._importer_as_value(node, node.id)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self._importer_as_value(node, node.attr)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        """`__builtins__["__import__"]`, `vars(builtins)[name]`, `builtins.__dict__[name]`."""
        holder = node.value
        namespace = (
            (isinstance(holder, ast.Name) and holder.id == "__builtins__")
            or (isinstance(holder, ast.Attribute) and holder.attr == "__dict__" and _name_of(holder.value) in IMPORTING_MODULES)
            or (
                isinstance(holder, ast.Call)
                and _name_of(holder.func) == "vars"
                and bool(holder.args)
                and _name_of(holder.args[0]) in IMPORTING_MODULES
            )
        )
        if namespace and isinstance(node.ctx, ast.Load):
            key = _literal(node.slice)
            if key is None:
                self._dynamic(node.lineno, "the builtins' namespace read with a computed name")
            elif key in IMPORTLIB_FUNCTIONS | EXEC_FUNCTIONS:
                self._dynamic(node.lineno, f"`{key}` read from the builtins' namespace")
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._assigned([node.target], node.value)
        self.generic_visit(node)


def read_python(source: bytes | str, path: str, package: str = "") -> tuple[list[ImportSite], list[DynamicLoad]]:
    """Every import site in one file, and every place it loads code by a name vexxy cannot read;
    `package` is the file's own package (for relative imports)."""
    try:
        tree = ast.parse(source, filename=path)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        raise Unparsable(f"{path}: {type(error).__name__}: {error}") from None
    visitor = _Visitor(path, package)
    try:
        visitor.visit(tree)
    except RecursionError:
        raise Unparsable(f"{path}: nested too deeply to read") from None
    sites = sorted(visitor.sites, key=lambda s: (s.line, s.module, s.how))
    return sites, sorted(dict.fromkeys(visitor.dynamic), key=lambda d: (d.line, d.what))


def python_imports(source: bytes | str, path: str, package: str = "") -> list[ImportSite]:
    """Every import site in one file; `package` is the file's own package (for relative imports)."""
    return read_python(source, path, package)[0]


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
