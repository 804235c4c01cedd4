"""The application's own Python files: those in the image that no SBOM component owns.

Where they are looked for: the script the entrypoint runs and its directory tree, the module of
`python -m x` or of a `module:attr` argument (gunicorn, uvicorn, celery), the working directory,
executable Python scripts on the usual `bin` directories (console scripts), and any unowned Python
file the run loaded. System directories (`/`, `/usr`, ...) are never walked whole; installed
packages (`site-packages`, `dist-packages`), virtual environments' libraries, caches and hidden
directories are skipped. The walk is bounded. Bytecode found there without its source (a `.pyc`
outside `__pycache__`, or a cache whose `.py` is missing) is first-party code the source cannot
describe: it is listed apart (`bytecode`), as the image ships it (the interpreter writes caches only
into `__pycache__`, next to a source).
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Iterable

from vexxy.imports.image_files import ImageFiles
from vexxy.imports.sites import EntryPoint

MAX_FILES = 5000
BIN_DIRS = ("/usr/local/bin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/sbin", "/sbin")
SYSTEM_DIRS = frozenset(
    {"/", "/usr", "/usr/local", "/usr/lib", "/usr/local/lib", "/lib", "/etc", "/var", "/opt", "/srv", "/home", "/tmp"}
    | set(BIN_DIRS)
)
SKIPPED_DIRS = frozenset({"site-packages", "dist-packages", "__pycache__", "node_modules", "proc", "sys", "dev"})
_PYTHON = re.compile(r"^python(\d+(\.\d+)?)?$")
_SHEBANG = re.compile(rb"^#!\s*\S*?(?:/env\s+(?:-\S+\s+)*)?\S*python[\d.]*\b")
_MODULE_ATTR = re.compile(r"^(?P<module>[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*):[A-Za-z_][\w.]*(?:\(.*\))?$")
_INTERPRETER_OPTIONS_WITH_VALUE = frozenset({"-W", "-X", "-Q"})
_STDLIB = re.compile(r"/lib/python\d[\d.]*/(?!site-packages/|dist-packages/)")


def _skip_dir(name: str, path: str) -> bool:
    return name in SKIPPED_DIRS or name.startswith(".") or _STDLIB.search(path + "/") is not None


def is_python_file(image: ImageFiles, path: str) -> bool:
    return path.endswith(".py") or bool(_SHEBANG.match(image.head(path, 128)))


def is_shipped_bytecode(image: ImageFiles, path: str) -> bool:
    """A `.pyc` that is not the interpreter's cache of a source beside it (`__pycache__/x.TAG.pyc` next to `x.py`)."""
    if not path.endswith(".pyc"):
        return False
    directory, name = posixpath.split(path)
    if posixpath.basename(directory) != "__pycache__":
        return True
    source = posixpath.join(posixpath.dirname(directory), name.split(".", 1)[0] + ".py")
    return not image.is_file(source)


class FirstParty:
    """First-party files found, the modules the entrypoint names, and `-c` code given inline."""

    def __init__(self) -> None:
        self.files: set[str] = set()
        self.roots: set[str] = set()  # directories treated as import roots (for relative module names)
        self.inline: list[tuple[str, str]] = []  # (label, code) of `python -c`
        self.bytecode: set[str] = set()  # first-party `.pyc` files shipped without their source
        self.incomplete: list[str] = []  # why some first-party files may be missing (a walk cut short)

    def package_of(self, path: str) -> str:
        """The dotted package a first-party file belongs to, relative to its nearest import root."""
        directory = posixpath.dirname(path)
        root = max((r for r in self.roots if directory == r or directory.startswith(r.rstrip("/") + "/")), key=len, default=None)
        if root is None:
            return ""
        relative = posixpath.relpath(directory, root)
        return "" if relative == "." else relative.replace("/", ".")


def _absolute(path: str, working_dir: str) -> str:
    return posixpath.normpath(posixpath.join(working_dir or "/", path))


def _module_file(image: ImageFiles, module: str, roots: Iterable[str]) -> tuple[str, str] | None:
    """(root, file) for `a.b` under one of `roots` (`a/b.py` or `a/b/__init__.py`)."""
    relative = module.replace(".", "/")
    for root in roots:
        for candidate in (f"{relative}.py", f"{relative}/__init__.py"):
            path = posixpath.join(root, candidate)
            if image.is_file(path):
                return root, image.canonical(path)
    return None


def _python_argv(argv: list[str]) -> tuple[str | None, str | None, str | None]:
    """(script, module, code) of a `python ...` argv."""
    index = 1
    while index < len(argv):
        arg = argv[index]
        if arg == "-m" and index + 1 < len(argv):
            return None, argv[index + 1], None
        if arg == "-c" and index + 1 < len(argv):
            return None, None, argv[index + 1]
        if arg in _INTERPRETER_OPTIONS_WITH_VALUE:
            index += 2
            continue
        if arg.startswith("-m") and len(arg) > 2:
            return None, arg[2:], None
        if arg.startswith("-"):
            index += 1
            continue
        return arg, None, None
    return None, None, None


def _commands(argv: list[str], working_dir: str) -> list[tuple[list[str], str]]:
    """The commands an entrypoint runs, each with its working directory: `sh -c "cd /app && exec
    python3 main.py"` gives `python3 main.py` in `/app`."""
    if not (len(argv) >= 3 and posixpath.basename(argv[0]) in ("sh", "bash", "dash", "ash") and argv[1] == "-c"):
        return [(argv, working_dir)]
    try:
        lexer = shlex.shlex(argv[2], posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:
        tokens = argv[2].split()
    commands: list[tuple[list[str], str]] = []
    current: list[str] = []
    for token in [*tokens, ";"]:
        if token and set(token) <= set(";&|()"):
            while current and (current[0] in ("exec", "nohup") or re.match(r"^[A-Za-z_]\w*=", current[0])):
                current.pop(0)
            if current and current[0] == "cd" and len(current) > 1:
                working_dir = _absolute(current[1], working_dir)
            elif current:
                commands.append((current, working_dir))
            current = []
        else:
            current.append(token)
    return commands


def find_first_party(
    image: ImageFiles,
    owned: set[str],
    entry: EntryPoint,
    loaded_unowned: Iterable[str] = (),
    max_files: int = MAX_FILES,
) -> FirstParty:
    found = FirstParty()
    walk: set[str] = set()
    for argv, working_dir in _commands(list(entry.argv), posixpath.normpath(entry.working_dir or "/")):
        _from_command(image, argv, working_dir, found, walk)
    for directory in sorted(walk):
        walked = list(image.walk_files(directory, _skip_dir, max_files + 1))
        if len(walked) > max_files:
            found.incomplete.append(f"{directory}: more than {max_files} files, only the first {max_files} were read")
        for path in walked[:max_files]:
            if path not in owned and (path.endswith(".py") or posixpath.basename(path) in ("entry_points.txt", "setup.cfg")):
                found.files.add(path)
            elif path not in owned and is_shipped_bytecode(image, path):
                found.bytecode.add(path)
    for directory in BIN_DIRS:
        for name in image.listdir(directory):
            path = image.canonical(f"{directory}/{name}")
            if path not in owned and image.is_file(path) and is_python_file(image, path):
                found.files.add(path)
    for path in loaded_unowned:
        canonical = image.canonical(path)
        if canonical.endswith(".py") and canonical not in owned and not _STDLIB.search(canonical):
            found.files.add(canonical)
        elif canonical not in owned and not _STDLIB.search(canonical) and is_shipped_bytecode(image, canonical):
            found.bytecode.add(canonical)
    found.files -= owned
    found.bytecode -= owned
    return found


def _from_command(image: ImageFiles, argv: list[str], working_dir: str, found: FirstParty, walk: set[str]) -> None:
    if working_dir not in SYSTEM_DIRS and image.is_dir(working_dir):
        found.roots.add(image.canonical(working_dir))
        walk.add(image.canonical(working_dir))
    if not argv:
        return
    program = posixpath.basename(argv[0])
    script = module = code = None
    if _PYTHON.match(program):
        script, module, code = _python_argv(argv)
    elif "/" in argv[0] and is_python_file(image, _absolute(argv[0], working_dir)):
        script = argv[0]
    if code is not None:
        found.inline.append(("<entrypoint -c>", code))
    if script is not None:
        path = _absolute(script, working_dir)
        if image.is_file(path):
            canonical = image.canonical(path)
            (found.bytecode if is_shipped_bytecode(image, canonical) else found.files).add(canonical)
            directory = posixpath.dirname(canonical)
            found.roots.add(directory)
            if directory not in SYSTEM_DIRS:
                walk.add(directory)
    modules = [module] if module else []
    modules += [m.group("module") for a in argv[1:] if (m := _MODULE_ATTR.match(a))]
    roots = [image.canonical(working_dir)] if image.is_dir(working_dir) else []
    for name in modules:
        located = _module_file(image, name, roots)
        if located is not None:
            root, path = located
            found.roots.add(root)
            found.files.add(path)
            top = posixpath.join(root, name.split(".")[0])
            if image.is_dir(top):
                walk.add(top)
