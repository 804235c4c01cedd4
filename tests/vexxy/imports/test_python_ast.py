"""Import sites read with `ast`: every level, guards, string-named modules, settings, entry points."""

import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vexxy.imports.python_ast import Unparsable, entry_point_imports, python_imports, read_python


def sites(code, package=""):
    return [(s.module, s.line, s.how) for s in python_imports(textwrap.dedent(code), "/app/x.py", package)]


def dynamic(code):
    return [(d.line, d.what, d.loads) for d in read_python(textwrap.dedent(code), "/app/x.py")[1]]


def test_imports_at_every_level_with_their_lines_and_scopes():
    code = """\
    import os, yaml.loader as loader
    from jinja2 import Template

    def handler():
        import requests
        if True:
            from lxml import etree

    class View:
        def post(self):
            import markdown

    if __name__ == "__main__":
        import click
    else:
        import toml
    """
    found = python_imports(textwrap.dedent(code), "/app/x.py")
    assert [(s.module, s.line, s.scope) for s in found] == [
        ("os", 1, "module"),
        ("yaml.loader", 1, "module"),
        ("jinja2.Template", 2, "module"),
        ("requests", 5, "function handler"),
        ("lxml.etree", 7, "function handler"),
        ("markdown", 11, "function post"),
        ("click", 14, "module"),
        ("toml", 16, "module"),
    ]
    assert all(s.where == f"/app/x.py:{s.line}" for s in found)


def test_try_except_import_error_marks_the_guarded_import_only():
    code = """\
    try:
        import ujson as json
    except ImportError:
        import json
    try:
        import simplejson
    except (ValueError, ModuleNotFoundError):
        pass
    try:
        import orjson
    except KeyError:
        pass
    """
    found = {s.module: s.guarded for s in python_imports(textwrap.dedent(code), "/app/x.py")}
    assert found == {"ujson": True, "json": False, "simplejson": True, "orjson": False}


def test_async_functions_and_nested_definitions_are_read():
    code = """\
    async def main():
        async def inner():
            import aiohttp
        return inner
    """
    assert [(s.module, s.scope) for s in python_imports(textwrap.dedent(code), "/a.py")] == [("aiohttp", "function inner")]


def test_relative_imports_resolve_against_the_file_package():
    code = """\
    from . import views
    from .models import User
    from ..shared import util
    from ... import too_far
    from .helpers import *
    """
    assert sites(code, package="app.web") == [
        ("app.web.views", 1, "from"),
        ("app.web.models.User", 2, "from"),
        ("app.shared.util", 3, "from"),
        ("app.web.helpers", 5, "from"),
    ]
    assert sites("from . import x\n", package="") == []


def test_importlib_and_dunder_import_with_literal_names_only():
    code = """\
    import importlib
    from importlib import import_module
    importlib.import_module("pkg_resources")
    import_module("yaml")
    __import__("markdown.extensions")
    import_module(".sub", "mypkg")
    import_module(name)
    import_module("not a module")
    importlib.import_module(f"plugins.{x}")
    """
    assert [(m, line, how) for m, line, how in sites(code) if how != "import" and how != "from"] == [
        ("pkg_resources", 3, "importlib"),
        ("yaml", 4, "importlib"),
        ("markdown.extensions", 5, "__import__"),
        ("mypkg.sub", 6, "importlib"),
        ("plugins", 9, "importlib prefix"),  # some module of `plugins`, whichever `x` names
    ]
    assert dynamic(code) == [(7, "`importlib.import_module` with a computed name", "python")]


def test_django_settings_strings_name_modules():
    code = """\
    INSTALLED_APPS = [
        "django.contrib.admin",
        "rest_framework",
        "debug toolbar with spaces",
    ]
    MIDDLEWARE = ("whitenoise.middleware.WhiteNoiseMiddleware",)
    DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "app"}}
    INSTALLED_APPS += ["corsheaders"]
    TEMPLATES = [{"BACKEND": "django.template.backends.jinja2.Jinja2", "DIRS": [], "OPTIONS": {"x": "y"}}]
    OTHER = ["not_a_setting"]
    """
    assert [(m, line, how) for m, line, how in sites(code)] == [
        ("django.contrib.admin", 2, "setting:INSTALLED_APPS"),
        ("rest_framework", 3, "setting:INSTALLED_APPS"),
        ("whitenoise.middleware.WhiteNoiseMiddleware", 6, "setting:MIDDLEWARE"),
        ("django.db.backends.postgresql", 7, "setting:DATABASES"),
        ("corsheaders", 8, "setting:INSTALLED_APPS"),
        ("django.template.backends.jinja2.Jinja2", 9, "setting:TEMPLATES"),
    ]


def test_celery_flask_and_setup_entry_points():
    code = """\
    app = Celery("proj", include=["proj.tasks", "reports.jobs"])
    app.conf.imports = ("billing.tasks",)
    app.autodiscover_tasks(["orders"])
    flask_app.config.from_object("settings.Production")
    setup(entry_points={"console_scripts": ["serve = webapp.cli:main", "bad entry"]})
    config["INSTALLED_APPS"] = ["grappelli"]
    """
    assert [(m, line, how) for m, line, how in sites(code)] == [
        ("proj.tasks", 1, "keyword:include"),
        ("reports.jobs", 1, "keyword:include"),
        ("billing.tasks", 2, "setting:imports"),
        ("orders", 3, "call:autodiscover_tasks"),
        ("settings.Production", 4, "call:from_object"),
        ("webapp.cli", 5, "entry_point"),
        ("grappelli", 6, "setting:INSTALLED_APPS"),
    ]


def test_entry_points_txt_and_setup_cfg():
    text = textwrap.dedent(
        """\
        [console_scripts]
        serve = webapp.cli:main
        [celery.plugins]
        extra = extras.plugin:Plugin [full]
        [metadata]
        name = not-an-entry
        """
    )
    assert [(s.module, s.line) for s in entry_point_imports(text, "/app/entry_points.txt")] == [
        ("webapp.cli", 2),
        ("extras.plugin", 4),
    ]
    cfg = "[options.entry_points]\nconsole_scripts =\n    tool = toolpkg.main:run\n"
    assert [(s.module, s.line) for s in entry_point_imports(cfg, "/app/setup.cfg")] == [("toolpkg.main", 3)]


@pytest.mark.parametrize(
    "source",
    [b"def broken(:\n", b"import os\x00\n", "x = (" * 200 + ")" * 200, b"\xff\xfe garbage"],
    ids=["syntax", "null-byte", "deeply-nested", "not-utf8"],
)
def test_unparsable_files_raise_a_named_error(source):
    with pytest.raises(Unparsable, match="/app/bad.py"):
        python_imports(source, "/app/bad.py")
    with pytest.raises(Unparsable, match="/app/setup.cfg"):
        entry_point_imports("no section header = x:y\n", "/app/setup.cfg")


def test_an_entry_point_line_is_the_one_that_names_the_module():
    text = "[webapp.cli]\n# webapp.cli is served by\nserve = webapp.cli:main\n"
    assert [(s.module, s.line) for s in entry_point_imports(text, "/app/entry_points.txt")] == [("webapp.cli", 3)]


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_any_content_yields_sites_or_a_named_error(content):
    """A first-party file is written by whoever built the image: nothing in it may crash the analysis."""
    try:
        found = python_imports(content, "/app/any.py", package="app")
    except Unparsable as error:
        assert str(error).startswith("/app/any.py: ")
    else:
        assert all(site.path == "/app/any.py" and site.line >= 1 for site in found)
    text = content if isinstance(content, str) else content.decode("utf-8", "replace")
    try:
        entry_point_imports(text, "/app/setup.cfg")
    except Unparsable as error:
        assert str(error).startswith("/app/setup.cfg: ")


def test_modules_named_by_computed_strings_are_dynamic_loads():
    code = """\
    import builtins, importlib
    __import__("".join(["ya", "ml"]))
    importlib.import_module(name)
    importlib.import_module(name="x" + suffix)
    __import__(f"{prefix}.tasks")
    importlib.import_module("%s.views" % app)
    __import__("plugins" + name)
    """
    assert dynamic(code) == [
        (2, "`__import__` with a computed name", "python"),
        (3, "`importlib.import_module` with a computed name", "python"),
        (4, "`importlib.import_module` with a computed name", "python"),
        (5, "`__import__` with a computed name", "python"),
        (6, "`importlib.import_module` with a computed name", "python"),
        (7, "`__import__` with a computed name", "python"),  # no dot: any top-level module starting so
    ]
    assert [m for m, _, how in sites(code) if how not in ("import", "from")] == []


def test_literal_names_are_ordinary_imports_not_dynamic_loads():
    code = """\
    import importlib, runpy, ctypes, ctypes.util, sys
    importlib.import_module("yaml")
    __import__("markdown", fromlist=["x"])
    importlib.import_module("plugins." + name)
    runpy.run_module("http.server")
    ctypes.CDLL("libc.so.6")
    ctypes.cdll.LoadLibrary(ctypes.util.find_library("ssl"))
    ctypes.PyDLL(None)
    sys.path.insert(0, "/opt/app/lib")
    sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    BASE_DIR = Path(__file__).resolve().parent.parent
    sys.path.append(str(BASE_DIR / "apps"))
    sys.path += [os.getcwd()]
    re.compile(pattern)
    model.eval()
    getattr(builtins, "print")
    """
    assert dynamic(code) == []
    assert [(m, line, how) for m, line, how in sites(code) if how not in ("import", "from")] == [
        ("yaml", 2, "importlib"),
        ("markdown", 3, "__import__"),
        ("plugins", 4, "importlib prefix"),
        ("http.server", 5, "runpy"),
    ]


def test_exec_eval_and_compile_of_computed_source_are_dynamic_and_literal_source_is_read():
    code = """\
    exec(source)
    eval(expression, {})
    code = compile(text, "<plugin>", "exec")
    exec(compile(text, "<plugin>", "exec"))
    builtins.exec(payload)
    exec("import yaml")
    eval("__import__('lxml')")
    exec("def broken(:")
    exec("__import__(name)")
    """
    assert dynamic(code) == [
        (1, "`exec` of computed source", "python"),
        (2, "`eval` of computed source", "python"),
        (3, "`compile` of computed source", "python"),
        (4, "`compile` of computed source", "python"),  # judged once, at `compile`
        (5, "`exec` of computed source", "python"),
        (8, "`exec` of source vexxy cannot parse", "python"),
        (9, "`__import__` with a computed name", "python"),
    ]
    assert [(m, line, how) for m, line, how in sites(code)] == [("yaml", 6, "exec:import"), ("lxml", 7, "eval:__import__")]


def test_file_and_archive_loaders_are_dynamic_whatever_their_arguments():
    code = """\
    import importlib.util, importlib.machinery, imp, runpy, zipimport
    spec = importlib.util.spec_from_file_location("plugin", "/opt/plugins/p.py")
    loader = importlib.machinery.SourceFileLoader("plugin", path)
    importlib.machinery.SourcelessFileLoader("plugin", path)
    zipimport.zipimporter("/opt/plugins.zip").load_module("p")
    imp.load_source("plugin", path)
    imp.load_module("plugin", *found)
    runpy.run_path(script)
    runpy.run_path("/opt/tools/tool.py")
    runpy.run_module(module_name)
    self.load_module()
    """
    assert dynamic(code) == [
        (2, "`importlib.util.spec_from_file_location` loads a module from a file", "python"),
        (3, "`importlib.machinery.SourceFileLoader` loads a module from a file", "python"),
        (4, "`importlib.machinery.SourcelessFileLoader` loads a module from a file", "python"),
        (5, "`zipimport.zipimporter` loads a module from a file", "python"),
        (6, "`imp.load_source` loads a module from a file", "python"),
        (7, "`load_module` loads a module from a file", "python"),
        (8, "`runpy.run_path` loads a module from a file", "python"),
        (9, "`runpy.run_path` loads a module from a file", "python"),
        (10, "`runpy.run_module` with a computed name", "python"),
    ]


def test_ctypes_of_a_computed_path_loads_a_shared_object():
    code = """\
    import ctypes
    from ctypes import CDLL, cdll
    CDLL(library_path)
    cdll.LoadLibrary(os.environ["PLUGIN_LIB"])
    ctypes.PyDLL(f"lib{name}.so")
    ctypes.cdll.LoadLibrary(ctypes.util.find_library(name))
    """
    assert dynamic(code) == [
        (3, "`ctypes.CDLL` of a computed path", "shared_object"),
        (4, "`ctypes.LoadLibrary` of a computed path", "shared_object"),
        (5, "`ctypes.PyDLL` of a computed path", "shared_object"),
        (6, "`ctypes.LoadLibrary` of a computed path", "shared_object"),
    ]


def test_computed_import_paths_and_finders_are_dynamic():
    code = """\
    import sys
    sys.path.append(plugin_dir)
    sys.path.insert(0, os.environ["EXTRA"])
    sys.path.extend(dirs)
    sys.path += [config.lib]
    sys.path[:0] = [where]
    sys.meta_path.insert(0, PluginFinder())
    sys.meta_path.append(finder)
    sys.path_hooks.append(hook)
    sys.path.insert(0, "/opt/plugins.zip")
    ARCHIVE = "/tmp/x.egg"
    sys.path.insert(0, ARCHIVE)
    """
    assert dynamic(code) == [
        (2, "`sys.path` extended with a computed path", "python"),
        (3, "`sys.path` extended with a computed path", "python"),
        (4, "`sys.path` extended with a computed path", "python"),
        (5, "`sys.path` extended with a computed path", "python"),
        (6, "`sys.path` extended with a computed path", "python"),
        (7, "a finder added to `sys.meta_path`", "python"),
        (8, "a finder added to `sys.meta_path`", "python"),
        (9, "a finder added to `sys.path_hooks`", "python"),
        (10, "an archive added to `sys.path` (imported with `zipimport`)", "python"),
        (12, "an archive added to `sys.path` (imported with `zipimport`)", "python"),
    ]


def test_importers_reached_through_getattr_or_the_builtins_namespace_are_dynamic():
    code = """\
    import builtins, importlib
    getattr(builtins, "__im" + "port__")("yaml")
    getattr(builtins, "__import__")
    getattr(importlib, "import_module")
    __builtins__["__import__"]
    vars(builtins)[name]
    builtins.__dict__["exec"]
    load = importlib.import_module
    handlers = map(__import__, names)
    """
    assert dynamic(code) == [
        (2, "`getattr` on `builtins` with a computed name", "python"),
        (3, "`__import__` fetched with `getattr`", "python"),
        (4, "`import_module` fetched with `getattr`", "python"),
        (5, "`__import__` read from the builtins' namespace", "python"),
        (6, "the builtins' namespace read with a computed name", "python"),
        (7, "`exec` read from the builtins' namespace", "python"),
        (8, "`import_module` used as a value", "python"),
        (9, "`__import__` used as a value", "python"),
    ]
    assert python_imports(textwrap.dedent(code), "/app/x.py")[0].how == "import"  # the `import` line only


def test_dynamic_loads_carry_the_file_and_line():
    (load,) = read_python("import importlib\n\nimportlib.import_module(name)\n", "/app/main.py")[1]
    assert (load.where, load.path, load.line) == ("/app/main.py:3", "/app/main.py", 3)
