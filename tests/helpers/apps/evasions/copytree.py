"""Copies PyYAML's package to /opt/vendor/cfgfmt and imports the copy, under that name."""

import os
import shutil
import sys

from serve import serve

SOURCE = "/usr/local/lib/python3.11/dist-packages/yaml"
TARGET = "/opt/vendor/cfgfmt"

shutil.copytree(SOURCE, TARGET, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
sys.path.insert(0, os.path.dirname(TARGET))

import cfgfmt  # noqa: E402

assert cfgfmt.__file__ == f"{TARGET}/__init__.py", cfgfmt.__file__
CONFIG = cfgfmt.safe_load("greeting: hello")

serve(get=lambda: cfgfmt.safe_dump(CONFIG))
