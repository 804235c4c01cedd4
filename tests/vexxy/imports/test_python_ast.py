"""Import sites read with `ast`: every level, guards, string-named modules, settings, entry points."""

import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vexxy.imports.python_ast import Unparsable, entry_point_imports, python_imports


def sites(code, package=""):
    return [(s.module, s.line, s.how) for s in python_imports(textwrap.dedent(code), "/app/x.py", package)]


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
    ]


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
