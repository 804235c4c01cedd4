"""A small image tree for the import analysis: an app in /app run as `python /app/main.py`, its package,
installed distributions (with the files each owns) and console scripts."""

import textwrap

from vexxy.sbom.components import Component

SITE = "usr/local/lib/python3.11/site-packages"


def write(root, path, text="", mode=0o644):
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(textwrap.dedent(text))
    target.chmod(mode)
    return "/" + path


def component(ref, name, files):
    return Component(ref, name, "1.0", "python", f"pkg:pypi/{name}@1.0", "PyPI", name, "1.0", tuple(files))


def app_tree(tmp_path):
    """An app in /app run as `python /app/main.py`, its package, installed distributions, a console script."""
    root = tmp_path / "rootfs"
    installed = {
        "flask": [write(root, f"{SITE}/flask/__init__.py", "import jinja2\n")],
        "jinja2": [write(root, f"{SITE}/jinja2/__init__.py")],
        "pyyaml": [write(root, f"{SITE}/yaml/__init__.py"), write(root, f"{SITE}/PyYAML-5.3.1.dist-info/RECORD")],
        "lxml": [write(root, f"{SITE}/lxml/etree.py")],
        "markdown": [write(root, f"{SITE}/markdown/__init__.py")],
        "celery": [write(root, f"{SITE}/celery/__init__.py")],
        "requests": [write(root, f"{SITE}/requests/__init__.py")],
        "unused": [write(root, f"{SITE}/unused/__init__.py", "import requests\n")],
        "gunicorn": [write(root, "usr/local/bin/gunicorn", "#!/usr/local/bin/python3\nimport gunicorn\n", 0o755)],
    }
    write(
        root,
        "app/main.py",
        """\
        import os
        from flask import Flask
        from web import views

        app = Flask(__name__)

        if os.environ.get("EXPORT_YAML"):
            import yaml
        """,
    )
    write(root, "app/web/__init__.py")
    write(
        root,
        "app/web/views.py",
        """\
        from .helpers import render

        def report():
            from lxml import etree
            return etree
        """,
    )
    write(root, "app/web/helpers.py", "import importlib\nrender = importlib.import_module('markdown')\n")
    write(root, "app/settings.py", "INSTALLED_APPS = ['celery']\n")
    write(root, "app/.hidden/skip.py", "import requests\n")
    write(root, "app/__pycache__/junk.py", "import requests\n")
    write(root, "app/venv/lib/python3.11/site-packages/vendored.py", "import requests\n")
    write(root, "usr/local/bin/manage", "#!/usr/bin/env python3\nimport celery\n", 0o755)
    write(root, "usr/local/bin/run.sh", "#!/bin/sh\nexec python3 /app/main.py\n", 0o755)
    write(root, "usr/local/lib/python3.11/json/__init__.py", "import requests\n")  # unowned standard library
    components = [component(name, name, files) for name, files in installed.items()]
    return root, components
